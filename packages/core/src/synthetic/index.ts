/** The synthetic world (`@marquee/core/synthetic`): the base world, its sparse preset and its launch histories. */
export * from './world.ts';
// The `sparse` preset (large catalog, few plays per member): its own config and random stream, see sparse.ts.
export { createSparseWorld, simulateSparseEvents, SPARSE_PRESET_DEFAULTS, type SparsePresetConfig, type SparseWorld } from './sparse.ts';
export * from './launches.ts';
