import type { DriftSignal } from '@shepherd/contracts/drift';
import type { DriftReportView, FeatureHistogramView } from './api.ts';
import { shares, type HistogramBar } from './chart-math.ts';

interface Point {
  at: string;
  score: number;
}

export interface FeatureRow {
  signal: DriftSignal;
  feature: string;
  method: string;
  score: number | null;
  threshold: number;
  pValue: number | null;
  drifted: boolean;
  history: Point[];
}

/** Per signal and feature: the latest verdict, and its score in every window reported (oldest first). */
export function featureRows(reports: readonly DriftReportView[]): FeatureRow[] {
  const rows = new Map<string, FeatureRow>();
  for (const report of reports) {
    for (const verdict of report.signals) {
      for (const feature of verdict.features) {
        const key = `${verdict.signal}\u0000${feature.feature}`;
        const row = rows.get(key) ?? {
          signal: verdict.signal,
          feature: feature.feature,
          method: feature.method,
          score: null,
          threshold: feature.threshold,
          pValue: null,
          drifted: false,
          history: [],
        };
        Object.assign(row, {
          method: feature.method,
          score: feature.score,
          threshold: feature.threshold,
          pValue: feature.pValue,
          drifted: feature.drifted,
        });
        if (feature.score !== null) row.history.push({ at: report.windowEnd, score: feature.score });
        rows.set(key, row);
      }
    }
  }
  return [...rows.values()];
}

/** A bin edge short enough for an axis label. */
export const edgeLabel = (value: number) =>
  Math.abs(value) >= 1000 || Number.isInteger(value) ? Math.round(value).toLocaleString() : value.toFixed(2);

/** The histogram's bins as bars (shares of each side's total), with what fell outside the training range. */
export function histogramBars(histogram: FeatureHistogramView): HistogramBar[] {
  const { reference, current } = histogram;
  const referenceShares = shares(reference.counts, reference.total);
  const currentShares = shares(current.counts, current.total);
  if (histogram.kind === 'categorical') {
    return (histogram.categories ?? []).map((label, i) => ({
      label,
      reference: referenceShares[i] ?? 0,
      current: currentShares[i] ?? 0,
    }));
  }
  const edges = histogram.edges ?? [];
  const bars: HistogramBar[] = referenceShares.map((share, i) => ({
    label: edgeLabel(edges[i] ?? 0),
    reference: share,
    current: currentShares[i] ?? 0,
  }));
  const outside = (count: number) => (current.total > 0 ? count / current.total : 0);
  if (current.below > 0)
    bars.unshift({ label: `< ${edgeLabel(edges[0] ?? 0)}`, reference: 0, current: outside(current.below) });
  if (current.above > 0)
    bars.push({ label: `> ${edgeLabel(edges.at(-1) ?? 0)}`, reference: 0, current: outside(current.above) });
  return bars;
}
