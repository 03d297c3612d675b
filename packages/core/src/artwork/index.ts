/** The artwork bandit and its off-policy evaluation: pure, deterministic, shared by the worker, server and benches. */
export * from './features.ts';
export * from './random.ts';
export * from './taste.ts';
export * from './context.ts';
export * from './reward.ts';
export * from './policies.ts';
export * from './priors.ts';
export * from './sticky.ts';
export * from './bandit.ts';
export * from './ope.ts';
export * from './workload.ts';
