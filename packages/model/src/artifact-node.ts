/** Node-only artifact I/O: write/read a model directory (manifest.json + weight files), sha256 via node:crypto. */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ModelManifestSchema, parseContract } from '@marquee/core';
import { loadModel, serializeModel, type LoadedModel, type Manifest, type SerializeInput } from './artifact.ts';

export const MANIFEST_FILE = 'manifest.json';

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Serialize and write a model; returns the manifest. Verifies the written files' sha256 with node:crypto. */
export async function saveModelDir(dir: string, input: SerializeInput): Promise<Manifest> {
  const { manifest, files } = await serializeModel(input);
  mkdirSync(dir, { recursive: true });
  for (const [p, bytes] of files) writeFileSync(path.join(dir, p), bytes);
  for (const f of manifest.files) {
    if (sha256File(path.join(dir, f.path)) !== f.sha256) throw new Error(`saveModelDir: ${f.path} did not round-trip`);
  }
  writeFileSync(path.join(dir, MANIFEST_FILE), JSON.stringify(manifest) + '\n');
  return manifest;
}

export function readManifest(dir: string): Manifest {
  const file = path.join(dir, MANIFEST_FILE);
  return parseContract(ModelManifestSchema, JSON.parse(readFileSync(file, 'utf8')), file);
}

export async function loadModelDir(dir: string): Promise<LoadedModel> {
  const manifest = readManifest(dir);
  return loadModel(manifest, async (p) => {
    if (p.includes('..') || path.isAbsolute(p)) throw new Error(`loadModelDir: refusing path ${p}`);
    return readFileSync(path.join(dir, p));
  });
}
