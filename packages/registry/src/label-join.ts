/**
 * Delayed labels meet the predictions they label. Shared by the drift monitor (champion accuracy
 * over time) and the canary analysis (canary against champion on the same labels' window).
 */

export interface LabelledPrediction {
  prediction: number;
  label: number;
}

export interface ArrivedLabel {
  /** The label event's id: a prediction id when the producer knows it. */
  id: string | null;
  entityId: string;
  eventTime: Date;
  label: number;
}

/** What a label can be matched with: one logged prediction. */
export interface LabelTarget {
  predictionId: string;
  versionId: string;
  entityId: string | null;
  prediction: number;
  at: Date;
}

/**
 * By prediction id when the label carries one, otherwise the prediction of the same entity
 * nearest in time (within `withinSeconds`). Each prediction takes at most one label.
 */
export function matchLabels(
  labels: readonly ArrivedLabel[],
  predictions: Iterable<LabelTarget>,
  withinSeconds: number,
): (LabelledPrediction & { versionId: string })[] {
  const byId = new Map<string, LabelTarget>();
  const byEntity = new Map<string, LabelTarget[]>();
  for (const prediction of predictions) {
    byId.set(prediction.predictionId, prediction);
    if (prediction.entityId === null) continue;
    const list = byEntity.get(prediction.entityId) ?? [];
    list.push(prediction);
    byEntity.set(prediction.entityId, list);
  }
  const joined: (LabelledPrediction & { versionId: string })[] = [];
  const used = new Set<string>();
  for (const label of labels) {
    let match = label.id !== null ? byId.get(label.id) : undefined;
    if (!match) {
      let best = withinSeconds * 1000;
      for (const candidate of byEntity.get(label.entityId) ?? []) {
        const gap = Math.abs(candidate.at.getTime() - label.eventTime.getTime());
        if (gap <= best && !used.has(candidate.predictionId)) {
          best = gap;
          match = candidate;
        }
      }
    }
    if (!match) continue;
    used.add(match.predictionId);
    joined.push({ prediction: match.prediction, label: label.label, versionId: match.versionId });
  }
  return joined;
}

/** Classification accuracy with 0.5 as the decision threshold on both sides. */
export function accuracyOf(pairs: readonly LabelledPrediction[]): number {
  let right = 0;
  for (const pair of pairs) if ((pair.prediction >= 0.5 ? 1 : 0) === (pair.label >= 0.5 ? 1 : 0)) right++;
  return right / pairs.length;
}

export function maeOf(pairs: readonly LabelledPrediction[]): number {
  let sum = 0;
  for (const pair of pairs) sum += Math.abs(pair.prediction - pair.label);
  return sum / pairs.length;
}

export interface CanaryAccuracy {
  /** Labelled predictions per side, whether or not there were enough. */
  labelled: { canary: number; champion: number };
  /** Set only when both sides have at least `minLabels`. */
  accuracy?: { canary: number; champion: number; canaryLabels: number; championLabels: number };
}

/** Canary and champion accuracy on the labels joined in one analysis window. */
export function canaryAccuracy(
  joined: readonly (LabelledPrediction & { versionId: string })[],
  versions: { canary: string; champion: string | null },
  minLabels: number,
): CanaryAccuracy {
  const canary = joined.filter((pair) => pair.versionId === versions.canary);
  const champion = joined.filter((pair) => pair.versionId === versions.champion);
  const labelled = { canary: canary.length, champion: champion.length };
  if (canary.length < minLabels || champion.length < minLabels) return { labelled };
  return {
    labelled,
    accuracy: {
      canary: accuracyOf(canary),
      champion: accuracyOf(champion),
      canaryLabels: canary.length,
      championLabels: champion.length,
    },
  };
}
