/** `npm run publish-model -- DIR`: verify an artifact and make it the live model of the server's data directory. */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.ts';
import { ModelRegistry } from '../models/registry.ts';

const {
  positionals: [dir],
} = parseArgs({ allowPositionals: true, options: {} });
if (!dir) {
  console.error('usage: npm run publish-model -- ARTIFACT_DIR   (DATA_DIR selects the server data directory)');
  process.exit(2);
}
const registry = new ModelRegistry(join(loadConfig().dataDir, 'models'));
try {
  const m = await registry.publish(dir);
  console.log(`published ${m.version}: now live in ${registry.dir}`);
} catch (err) {
  console.error(`refused: ${(err as Error).message}`);
  process.exit(1);
}
