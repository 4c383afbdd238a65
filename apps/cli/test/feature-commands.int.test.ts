import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineFeatureView } from '@shepherd/contracts/features';
import { getParityMonitor } from '@shepherd/features/parity-monitor';
import { featureEvent } from '@shepherd/features/produce';
import { registerFeatureView } from '@shepherd/features/registry';
import { writeBatch } from '@shepherd/features/store';
import { cliAgainstApi } from './harness.ts';

/**
 * `shepherd features` and `shepherd parity` against the real API over HTTP. No worker serves this
 * test's task queues, so the monitor's workflow waits unstarted until the stop asks Temporal to
 * cancel it; the checks themselves and the cancelled workflow are shown in
 * apps/worker/test/rollout.int.test.ts.
 */
describe('shepherd features and parity', { timeout: 60_000 }, () => {
  let cli: Awaited<ReturnType<typeof cliAgainstApi>>;
  let engineer: string;
  let viewer: string;
  const run = (token: string, ...args: string[]) => cli.run(token, ...args);
  const monitorRow = () =>
    getParityMonitor({ db: cli.database.db, projectId: cli.projectId, actor: 'test' }, 'cards');

  beforeAll(async () => {
    cli = await cliAgainstApi('cli-parity');
    const { registered } = await registerFeatureView(
      { db: cli.database.db, projectId: cli.projectId, actor: 'test' },
      defineFeatureView({
        name: 'cards',
        version: 1,
        entityKey: 'card_id',
        ttlSeconds: 3600,
        features: [{ name: 'amount', type: 'float' }],
      }),
    );
    const eventTimeMs = Date.now() - 60_000;
    await writeBatch(cli.database.db, registered, {
      topic: registered.view.sourceTopic,
      partition: 0,
      events: [
        {
          offset: '0',
          event: featureEvent('card-1', new Date(eventTimeMs), { amount: 42.5 }),
          eventTimeMs,
        },
      ],
      rejectedOffsets: [],
      lastOffset: '0',
    });
    engineer = await cli.token('engineer', 'ml-engineer');
    viewer = await cli.token('viewer', 'viewer');
  });
  afterAll(() => cli?.close());

  it('lists the views and reads an entity from the online store', async () => {
    const listed = await run(viewer, 'features', 'list');
    expect(listed).toMatch(/^VIEW\s+VERSION\s+TOPIC/m);
    // This API has no Kafka to ask for ingestion metrics: said with dashes, not zeros.
    expect(listed).toMatch(/^cards\s+v1\s+features\.cards\s+1\s+-\s+-\s+-\s+-$/m);

    const got = await run(viewer, 'features', 'get', 'cards', 'card-1', 'card-404');
    const age = /^card-1: event time \S+, (\d+) s old$/m.exec(got);
    expect(Number(age?.[1])).toBeGreaterThanOrEqual(59);
    expect(got).toMatch(/^ {2}amount = 42\.5$/m);
    expect(got).toMatch(/^card-404: not in the online store$/m);
    const json = JSON.parse(await run(viewer, '--json', 'features', 'get', 'cards', 'card-1'));
    expect(json).toMatchObject({
      view: 'cards',
      vectors: [{ entityId: 'card-1', found: true, values: { amount: 42.5 } }],
    });
    await expect(run(viewer, 'features', 'get', 'nope', 'card-1')).rejects.toThrow(/nope/);
  });

  it('starts a monitor, shows it, and stops it, asking Temporal to cancel its workflow', async () => {
    await expect(run(viewer, 'parity', 'show', 'cards')).rejects.toThrow(/cards has no parity monitor/);
    const started = await run(engineer, 'parity', 'start', 'cards', '--every', '60', '--sample', '200');
    expect(started).toMatch(
      /^parity monitor of cards: running, every 60 s, 200 entities, alert above 0.01$/m,
    );
    expect(started).toMatch(/latest report: none yet/);
    const row = await monitorRow();
    expect(row).toMatchObject({ state: 'running', config: { everySeconds: 60, sampleSize: 200 } });

    const shown = JSON.parse(await run(viewer, '--json', 'parity', 'show', 'cards'));
    expect(shown).toMatchObject({ view: 'cards', state: 'running', workflowId: row!.workflowId });

    expect(await run(engineer, 'parity', 'stop', 'cards')).toMatch(/^parity monitor of cards: stopped/m);
    // The cancel is in the workflow's history (with no worker here, nothing acts on it yet).
    const history = await cli.temporal.client.workflow.getHandle(row!.workflowId).fetchHistory();
    expect(history.events?.some((e) => e.workflowExecutionCancelRequestedEventAttributes)).toBe(true);
    await cli.temporal.client.workflow
      .getHandle(row!.workflowId)
      .terminate('test over: no worker will run it');
  });

  it('names the problem: a bad number, an unknown view, a viewer starting a monitor', async () => {
    await expect(run(engineer, 'parity', 'start', 'cards', '--every', 'hourly')).rejects.toThrow(
      /--every must be a whole number, not 'hourly'/,
    );
    await expect(run(engineer, 'parity', 'start', 'cards', '--every', '5')).rejects.toThrow(/everySeconds/);
    await expect(run(engineer, 'parity', 'start', 'nope')).rejects.toThrow(/nope/);
    await expect(run(viewer, 'parity', 'start', 'cards')).rejects.toThrow(/forbidden|needs/);
    expect((await monitorRow())?.state).toBe('stopped');
  });
});
