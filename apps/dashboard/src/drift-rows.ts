import type { DriftSignal } from '@shepherd/contracts/drift';
import type { DriftReportView } from './api.ts';

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
