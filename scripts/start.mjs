// `npm start`: the API (embedded DuckDB under .data/) and the demo (Vite dev server), on localhost.
import { spawn } from 'node:child_process';

const children = [];
function run(name, cmd, args, env = {}) {
  const child = spawn(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  child.on('exit', (code) => {
    console.log(`${name} exited (${code}); stopping`);
    stop(code ?? 1);
  });
  children.push(child);
}
function stop(code = 0) {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 500);
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

const apiPort = process.env.PORT ?? '8787';
run('api', process.execPath, ['--import', 'tsx', 'server/src/serve.ts'], { PORT: apiPort });
run('demo', process.execPath, ['node_modules/vite/bin/vite.js', '--config', 'demo/vite.config.ts', '--logLevel', 'warn'], {
  MARQUEE_API: `http://127.0.0.1:${apiPort}`,
});
setTimeout(() => console.log('\n  Marquee demo: http://127.0.0.1:5173  (API on http://127.0.0.1:' + apiPort + ')\n'), 1500);
