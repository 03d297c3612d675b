/** Node-only artifact I/O: write/read a model directory (manifest.json + weight files). */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ModelManifestSchema, parseContract } from '@marquee/core';
import { loadModel, serializeModel, verifyFiles, type LoadedModel, type Manifest, type SerializeInput } from './artifact.ts';

export const MANIFEST_FILE = 'manifest.json';

/** Serialize and write a model; returns the manifest, once the written files read back as it says. */
export async function saveModelDir(dir: string, input: SerializeInput): Promise<Manifest> {
  const { manifest, files } = await serializeModel(input);
  mkdirSync(dir, { recursive: true });
  for (const [p, bytes] of files) writeFileSync(path.join(dir, p), bytes);
  await verifyFiles(manifest.files, async (p) => readFileSync(path.join(dir, p))).catch((err: Error) => {
    throw new Error(`saveModelDir: ${dir} did not round-trip: ${err.message}`);
  });
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
