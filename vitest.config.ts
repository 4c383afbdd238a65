import { defineConfig } from 'vitest/config';

// Unit tests fake what they don't test and run in parallel; integration tests talk to the real
// stack (infra/local) and run one file at a time so two suites never fight over the same broker.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{apps,packages,infra,scripts,bench}/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['{apps,packages,infra,scripts}/**/*.int.test.ts'],
          // scripts/test.sh runs some files beside the unit tests and leaves them out here.
          exclude: ['**/node_modules/**', ...(process.env.SHEPHERD_EXCLUDE_TESTS?.split(',') ?? [])],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
          globalSetup: ['packages/testing/src/global-setup.ts'],
        },
      },
    ],
  },
});
