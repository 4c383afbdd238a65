/**
 * A small Prometheus registry for the text exposition format (0.0.4): counters and histograms
 * keyed by label values, and gauges read when scraped. Enough for a service's own /metrics without
 * a client library.
 */

type Labels = Record<string, string>;

const escape = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export const formatLabels = (labels: Labels): string => {
  const entries = Object.entries(labels);
  return entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}`;
};

const keyOf = (labels: Labels) =>
  JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));

interface Family {
  name: string;
  help: string;
  render(out: string[]): Promise<void> | void;
}

export class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = keyOf(labels);
    const current = this.values.get(key);
    if (current) current.value += by;
    else this.values.set(key, { labels, value: by });
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const { labels, value } of this.values.values())
      out.push(`${this.name}${formatLabels(labels)} ${value}`);
  }
}

export class Histogram {
  private readonly series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();
  constructor(
    readonly name: string,
    readonly help: string,
    /** Upper bounds, ascending, in the unit of the observations. */
    readonly buckets: readonly number[],
  ) {}

  observe(labels: Labels, value: number): void {
    const key = keyOf(labels);
    let entry = this.series.get(key);
    if (!entry) {
      entry = { labels, counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(key, entry);
    }
    const index = this.buckets.findIndex((bound) => value <= bound);
    if (index >= 0) entry.counts[index]! += 1;
    entry.sum += value;
    entry.count += 1;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const { labels, counts, sum, count } of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((bound, i) => {
        cumulative += counts[i]!;
        out.push(`${this.name}_bucket${formatLabels({ ...labels, le: String(bound) })} ${cumulative}`);
      });
      out.push(`${this.name}_bucket${formatLabels({ ...labels, le: '+Inf' })} ${count}`);
      out.push(
        `${this.name}_sum${formatLabels(labels)} ${sum}`,
        `${this.name}_count${formatLabels(labels)} ${count}`,
      );
    }
  }
}

export class Registry {
  private readonly families: Family[] = [];

  counter(name: string, help: string): Counter {
    const counter = new Counter(name, help);
    this.families.push(counter);
    return counter;
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    const histogram = new Histogram(name, help, buckets);
    this.families.push(histogram);
    return histogram;
  }

  /** A gauge whose samples are read at scrape time (e.g. from the database). */
  gauge(name: string, help: string, read: () => Promise<{ labels: Labels; value: number }[]>): void {
    this.families.push({
      name,
      help,
      render: async (out) => {
        out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
        for (const { labels, value } of await read()) out.push(`${name}${formatLabels(labels)} ${value}`);
      },
    });
  }

  async render(): Promise<string> {
    const out: string[] = [];
    for (const family of this.families) await family.render(out);
    return `${out.join('\n')}\n`;
  }
}
