// The workflow bundle's entry point: every workflow the worker runs is exported from here.
export * from './ping.ts';
export * from './training-pipeline.ts';
export * from './canary-rollout.ts';
export * from './drift-monitor.ts';
export * from './parity-check.ts';
