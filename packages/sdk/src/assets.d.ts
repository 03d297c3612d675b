// Bundlers (Vite, and webpack's asset modules) turn `?url` imports into the URL of the emitted file.
declare module '*?url' {
  const url: string;
  export default url;
}
