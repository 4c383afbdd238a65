/**
 * CPU used by the local stack's own processes (PostgreSQL, the Kafka broker), read from /proc:
 * a benchmark process's CPU leaves out the work it hands to them, and on a machine of two cores
 * that work competes with it.
 */
import { readdir, readFile } from 'node:fs/promises';

/** Which processes count as which service, by their command name (`/proc/<pid>/comm`). */
const services = { postgres: 'postgres', kafka: 'java' } as const;
export type StackService = keyof typeof services;

/** The kernel's clock ticks per second, the unit of CPU times in `/proc/<id>/stat`. */
export const ticksPerSecond = 100;

/**
 * A `/proc/<id>/stat` line read: its command name and its CPU ticks (user + system), with its
 * reaped children's when `withChildren`.
 */
export function parseStat(stat: string, withChildren: boolean): { comm: string; ticks: number } {
  const close = stat.lastIndexOf(')');
  const comm = stat.slice(stat.indexOf('(') + 1, close);
  // Fields after the command: state is the first, utime the 12th, stime, cutime, cstime follow.
  const fields = stat.slice(close + 2).split(' ');
  const own = Number(fields[11]) + Number(fields[12]);
  return { comm, ticks: withChildren ? own + Number(fields[13]) + Number(fields[14]) : own };
}

/**
 * Seconds of CPU per service so far: own and reaped children's time of every process of that
 * name, so a connection that ends between two readings still counts (in its parent's).
 */
export async function stackCpuSeconds(): Promise<Record<StackService, number>> {
  const totals: Record<StackService, number> = { postgres: 0, kafka: 0 };
  const names = Object.entries(services) as [StackService, string][];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try {
      stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    const { comm, ticks } = parseStat(stat, true);
    const service = names.find(([, name]) => name === comm)?.[0];
    if (!service) continue;
    totals[service] += ticks / ticksPerSecond;
  }
  return totals;
}

/** CPU per service between two readings, in microseconds per item. */
export function stackCpuPerItem(
  before: Record<StackService, number>,
  after: Record<StackService, number>,
  items: number,
): Record<StackService, number> {
  const per = (service: StackService) => Math.round(((after[service] - before[service]) / items) * 1e7) / 10;
  return { postgres: per('postgres'), kafka: per('kafka') };
}
