import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runEntryPoint } from '@shepherd/testing/process';
import { repoRoot } from '../infra/local/paths.ts';
import type { ScenarioResult } from './scenario.ts';

describe('the README demo command', () => {
  it(
    "plays a fraud model's whole life on the real platform and stops what it started",
    { timeout: 900_000 },
    async () => {
      const resultFile = join(repoRoot, '.state', 'demo', 'result.json');
      rmSync(resultFile, { force: true });
      const env = { ...(process.env as Record<string, string>), DEMO_FAST: '1' };
      const platformGone = async () => {
        for (const url of ['http://127.0.0.1:8080/healthz', 'http://127.0.0.1:8081/healthz']) {
          await expect(fetch(url, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
        }
      };

      // Someone starts the demo and presses Ctrl-C while it plays: everything it started stops.
      const interrupted = await runEntryPoint('scripts/demo.ts', env, {
        timeoutMs: 300_000,
        interruptWhen: 'act 2:',
      });
      expect(interrupted.code, interrupted.stderr + interrupted.stdout.slice(-2000)).toBe(130);
      expect(interrupted.stdout).toContain('stopping the platform');
      await platformGone();

      // And runs it again, to the end this time. Played as a person would: it keeps running until
      // Ctrl-C, which stops what it started.
      const run = await runEntryPoint('scripts/demo.ts', env, {
        timeoutMs: 600_000,
        interruptWhen: 'press Ctrl-C to stop',
      });
      expect(run.code, run.stderr + run.stdout.slice(-4000)).toBe(130);
      expect(run.stdout).toContain('stopping the platform');
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
      // v1 from a point-in-time set; v2 canaried to champion; v3 rolled back by its analysis;
      // on-call's manual rollback brought v1 back; the drift policy retrained v4 into champion.
      expect(result.versions.map(({ version, state, aliases }) => ({ version, state, aliases }))).toEqual([
        { version: 4, state: 'production', aliases: ['champion'] },
        { version: 3, state: 'rolled_back', aliases: [] },
        { version: 2, state: 'rolled_back', aliases: [] },
        { version: 1, state: 'archived', aliases: [] },
      ]);
      expect(result.champion).toBe(4);
      expect(result.v1.trainingSetId).not.toBeNull();

      // Four eyes: both promotions waited for the reviewer, though neither plan asked for a gate.
      expect(result.v2Rollout).toMatchObject({
        version: 2,
        state: 'succeeded',
        failedChecks: [],
        approvals: 1,
      });
      expect(result.v2Rollout.passed).toBeGreaterThan(0);
      // The parity check of act 4 found the stores equal, and the canary analyses gated on it.
      expect(result.parity.sampled).toBeGreaterThan(0);
      expect(result.parity.mismatchedEntities).toBe(0);
      expect(result.parity.monitor).toBe('running');
      expect(result.v2Rollout.parity.length).toBeGreaterThan(0);
      expect(new Set(result.v2Rollout.parity)).toEqual(new Set(['passed']));

      expect(result.v3Rollout).toMatchObject({ version: 3, state: 'rolled_back' });
      expect(result.v3Rollout.failedChecks.length).toBeGreaterThan(0);
      expect(result.v3Rollout.alert).not.toBeNull();

      expect(result.manualRollback).toMatchObject({ from: 2, to: 1 });
      expect(result.manualRollback.alert).not.toBeNull();

      expect(result.drift.alert).not.toBeNull();
      expect(result.drift.signal).toBe('skew');
      expect(result.drift.retrainRun).not.toBeNull();
      expect(result.drift.rollout).toMatchObject({ version: 4, state: 'succeeded', approvals: 1 });

      // Live traffic throughout, never failed, and labelled for the analyses.
      expect(Object.keys(result.predictions).sort()).toEqual(['1', '2', '3', '4']);
      expect(result.failedPredictions).toBe(0);
      expect(result.labelsSent).toBeGreaterThan(0);

      // The champion's lineage reaches the Kafka offsets of its own labels and features, and only
      // those: four training sets read the same view, each its own range.
      expect(result.lineage.topicRanges).toHaveLength(2);
      expect(result.lineage.topicRanges.some((id) => id.startsWith(`labels.${result.model}#`))).toBe(true);
      expect(result.lineage.topicRanges.some((id) => id.startsWith('features.card_transactions#'))).toBe(
        true,
      );
      expect(result.lineage.nodes).toContain(`model_version:${result.championId}`);
      expect(result.lineage.nodes.some((id) => id.startsWith('deployment:'))).toBe(true);
      expect(run.stdout).toContain("the champion's lineage");

      // The platform's processes are gone: their ports answer no more.
      await platformGone();
    },
  );
});
