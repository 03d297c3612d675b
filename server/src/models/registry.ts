/**
 * Published model artifacts on disk, and which one is live:
 *
 *   <dir>/<version>/manifest.json, weights.bin, ...   one folder per version, never changed once published
 *   <dir>/LATEST                                       the live version's name, replaced by an atomic rename
 *
 * `publish` checks every file against the manifest (size and sha256) before anything becomes visible, so a broken
 * or partial artifact is refused with the reason and the previous version stays live.
 */
import { cp, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ARTIFACT_NAME, ModelManifestSchema, parseContract } from '@marquee/core';
import { verifyFiles, type Manifest } from '@marquee/model';

const LATEST = 'LATEST';
const MANIFEST = 'manifest.json';

export class ModelRegistry {
  private cache = new Map<string, Manifest>();

  constructor(readonly dir: string) {}

  /** The live manifest, or null when nothing is published. */
  async latest(): Promise<Manifest | null> {
    let version: string;
    try {
      version = (await readFile(join(this.dir, LATEST), 'utf8')).trim();
    } catch {
      return null;
    }
    return this.manifest(version);
  }

  async manifest(version: string): Promise<Manifest | null> {
    if (!ARTIFACT_NAME.test(version)) return null;
    const cached = this.cache.get(version);
    if (cached) return cached;
    try {
      const m = await readManifestFile(join(this.dir, version));
      this.cache.set(version, m);
      return m;
    } catch (err) {
      // A published folder was checked when it was published: a manifest that no longer reads is worth a line.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') console.error(`model ${version}: ${(err as Error).message}`);
      return null;
    }
  }

  /** Bytes of one file of a published version, or null if the manifest does not list it. */
  async file(version: string, path: string): Promise<{ bytes: Uint8Array; sha256: string } | null> {
    const m = await this.manifest(version);
    const entry = m?.files.find((f) => f.path === path);
    if (!entry || !ARTIFACT_NAME.test(path)) return null;
    return { bytes: await readFile(join(this.dir, version, path)), sha256: entry.sha256 };
  }

  /**
   * Verifies the artifact in `srcDir`, copies it in under its version, then makes it live. Throws (and changes
   * nothing visible) when the manifest is unreadable or any file is missing, truncated or altered.
   */
  async publish(srcDir: string): Promise<Manifest> {
    const manifest = await verifyArtifact(srcDir);
    await mkdir(this.dir, { recursive: true });
    const target = join(this.dir, manifest.version);
    const exists = await stat(join(target, MANIFEST)).then(() => true, () => false);
    if (!exists) {
      const staging = join(this.dir, `.staging-${manifest.version}-${process.pid}`);
      await rm(staging, { recursive: true, force: true });
      await mkdir(staging);
      for (const f of [...manifest.files.map((x) => x.path), MANIFEST]) await cp(join(srcDir, f), join(staging, f));
      await verifyArtifact(staging); // what landed is what was checked
      await rename(staging, target);
    }
    const tmp = join(this.dir, `.${LATEST}.${process.pid}`);
    await writeFile(tmp, manifest.version);
    await rename(tmp, join(this.dir, LATEST));
    return manifest;
  }
}

/** Reads `manifest.json` in `dir` and checks each listed file; returns the manifest or throws saying what is wrong. */
export async function verifyArtifact(dir: string): Promise<Manifest> {
  let manifest: Manifest;
  try {
    manifest = await readManifestFile(dir);
  } catch (err) {
    throw new Error(`artifact ${dir}: cannot read ${MANIFEST}: ${(err as Error).message}`);
  }
  const read = (path: string) => readFile(join(dir, path)).catch(() => Promise.reject(new Error(`${path} is missing`)));
  await verifyFiles(manifest.files, read).catch((err: Error) => {
    throw new Error(`artifact ${dir}: ${err.message}`);
  });
  return manifest;
}

async function readManifestFile(dir: string): Promise<Manifest> {
  const file = join(dir, MANIFEST);
  return parseContract(ModelManifestSchema, JSON.parse(await readFile(file, 'utf8')), file);
}
