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

/**
 * One key per label set whatever the order its names come in. Called for every observation (twice
 * per API request), so it avoids `localeCompare` and a JSON document of entries: label names are
 * ASCII, and each value is quoted so no two sets share a key.
 */
const keyOf = (labels: Labels) => {
  const names = Object.keys(labels);
  if (names.length > 1) names.sort();
  let key = '';
  for (const name of names) key += `${name}=${JSON.stringify(labels[name])},`;
  return key;
};

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
    this.with(labels).inc(by);
  }

  /** The series of one label set, for a caller that counts it often (no key built per call). */
  with(labels: Labels): { inc(by?: number): void } {
    const key = keyOf(labels);
    let entry = this.values.get(key);
    if (!entry) this.values.set(key, (entry = { labels, value: 0 }));
    const series = entry;
    return {
      inc: (by = 1) => {
        series.value += by;
      },
    };
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
    this.with(labels).observe(value);
  }

  /** The series of one label set, for a caller that observes it often (no key built per call). */
  with(labels: Labels): { observe(value: number): void } {
    const key = keyOf(labels);
    let entry = this.series.get(key);
    if (!entry) {
      entry = { labels, counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(key, entry);
    }
    const series = entry;
    const buckets = this.buckets;
    return {
      observe: (value) => {
        for (let i = 0; i < buckets.length; i++) {
          if (value <= buckets[i]!) {
            series.counts[i]! += 1;
            break;
          }
        }
        series.sum += value;
        series.count += 1;
      },
    };
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
