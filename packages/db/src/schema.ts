export * from './schema/projects.ts';
export * from './schema/registry.ts';
export * from './schema/lineage.ts';
export * from './schema/audit.ts';
export * from './schema/training.ts';
export * from './schema/auth.ts';
export * from './schema/features.ts';
