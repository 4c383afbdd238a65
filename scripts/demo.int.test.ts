import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runEntryPoint } from '@shepherd/testing/process';
import { repoRoot } from '../infra/local/paths.ts';
import type { ScenarioResult } from './scenario.ts';

describe('the README demo command', () => {
  it(
    'brings the platform up, plays the scenario through the API and stops what it started',
    { timeout: 600_000 },
    async () => {
      const resultFile = join(repoRoot, '.state', 'demo', 'result.json');
      rmSync(resultFile, { force: true });
      const run = await runEntryPoint(
        'scripts/demo.ts',
        { ...(process.env as Record<string, string>), DEMO_EXIT: '1', DEMO_FAST: '1' },
        { timeoutMs: 580_000 },
      );
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain('Shepherd is running:');
      // `shepherd status` as printed by the demo: the API's /readyz reached every real service.
      for (const service of [
        'api',
        'postgres',
        'temporal',
        'kafka',
        's3',
        'mlflow',
        'gateway',
        'dashboard',
      ]) {
        expect(run.stdout).toMatch(new RegExp(`^ok\\s+${service}\\s`, 'm'));
      }

      const result = JSON.parse(readFileSync(resultFile, 'utf8')) as ScenarioResult;
      expect(result.versions.map(({ version, state, aliases }) => ({ version, state, aliases }))).toEqual([
        { version: 4, state: 'rolled_back', aliases: [] },
        { version: 3, state: 'rejected', aliases: [] },
        { version: 2, state: 'production', aliases: ['champion'] },
        { version: 1, state: 'archived', aliases: [] },
      ]);
      expect(result.champion).toBe(2);
      // v4 rolled out under live traffic with features from the online store, then on-call rolled back.
      expect(result.serving.rollout).toMatchObject({ version: 4, state: 'succeeded' });
      expect(result.serving.rollout.passed).toBeGreaterThan(0);
      expect(Object.keys(result.serving.predictions).sort()).toEqual(['2', '4']);
      expect(result.serving.failedPredictions).toBe(0);
      expect(result.serving.championAfterRollback).toBe(2);
      expect(result.serving.rollbackAlert).not.toBeNull();
      // The platform's processes are gone: their ports answer no more.
      for (const url of ['http://127.0.0.1:8080/healthz', 'http://127.0.0.1:8081/healthz']) {
        await expect(fetch(url, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
      }
    },
  );
});
