import { describe, expect, it } from 'vitest';
import { sinceOption } from '../src/drift-commands.ts';
import { buildProgram } from '../src/program.ts';

describe('drift commands', () => {
  it('reads --since as a duration before now or an ISO time, and refuses anything else', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    expect(sinceOption('30m', now)).toBe('2026-01-01T11:30:00.000Z');
    expect(sinceOption('2d', now)).toBe('2025-12-30T12:00:00.000Z');
    expect(sinceOption('2026-01-01T10:00:00Z', now)).toBe('2026-01-01T10:00:00Z');
    expect(() => sinceOption('yesterday', now)).toThrow(/duration like 30m/);
  });

  it('adds drift, monitors, webhooks and the alert actions to the program', () => {
    const program = buildProgram(() => undefined);
    const names = (command: typeof program) => command.commands.map((c) => c.name());
    expect(names(program)).toEqual(expect.arrayContaining(['drift', 'monitors', 'webhooks', 'alerts']));
    const sub = (name: string) => names(program.commands.find((c) => c.name() === name)!);
    expect(sub('monitors')).toEqual(['start', 'stop', 'show']);
    expect(sub('webhooks')).toEqual(['add', 'list', 'remove']);
    expect(sub('alerts')).toEqual(expect.arrayContaining(['rollback', 'retrain', 'deliveries']));
  });
});
