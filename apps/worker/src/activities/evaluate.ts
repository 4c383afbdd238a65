import type { EvaluationReport, GateResult, GateSpec } from '@shepherd/contracts/training';
import { parseLabelledCsv } from '@shepherd/evaluation/csv';
import { evaluateGates } from '@shepherd/evaluation/gates';
import { binaryClassificationMetrics } from '@shepherd/evaluation/metrics';
import { loadModel } from '@shepherd/evaluation/model';
import { evaluateRegressor } from '@shepherd/evaluation/evaluate';
import type { ModelTask } from '@shepherd/contracts/trainer';
import { resolveAlias } from '@shepherd/registry/aliases';
import { getTrainingSet } from '@shepherd/registry/training';
import { annotateVersion, getVersionById } from '@shepherd/registry/versions';
import type { ModelVersion } from '@shepherd/db/schema';
import { registryContext, type ActivityDeps, type Scope } from './deps.ts';
import { guarded } from './failures.ts';

interface Dataset {
  name: 'holdout' | 'golden';
  text: string;
}

export function evaluateActivities(deps: ActivityDeps) {
  /** Loads a version's model, refusing bytes whose sha256 differs from the registered one. */
  async function score(
    task: ModelTask,
    version: ModelVersion,
    featureNames: string[],
    dataset: Dataset,
  ): Promise<Record<string, number>> {
    const bytes = await deps.artifacts.getVerified(version.artifactUri, version.artifactSha256);
    if (task === 'regression') {
      const data = parseLabelledCsv(dataset.text, featureNames, {
        source: dataset.name,
        target: 'continuous',
      });
      const model = await loadModel(bytes, { task: 'regression' });
      try {
        return { ...(await evaluateRegressor(model, data)).metrics };
      } finally {
        await model.close();
      }
    }
    const data = parseLabelledCsv(dataset.text, featureNames, { source: dataset.name });
    const model = await loadModel(bytes, { task: 'binary_classification' });
    try {
      const probabilities = await model.predictProba(data.features, data.nRows, featureNames.length);
      return { ...binaryClassificationMetrics(data.labels, probabilities) };
    } finally {
      await model.close();
    }
  }

  return {
    /**
     * Scores the candidate and the current champion on the same holdout (and golden set), then
     * applies the gates. The report is stored on the version whatever the verdict.
     */
    evaluateCandidate: (
      input: Scope & {
        modelId: string;
        modelTask: ModelTask;
        versionId: string;
        trainingSetId: string;
        goldenSetUri?: string | undefined;
        gates: GateSpec;
      },
    ) =>
      guarded(async (): Promise<EvaluationReport> => {
        const ctx = registryContext(deps, input);
        const candidate = await getVersionById(ctx, input.versionId);
        const set = await getTrainingSet(ctx, input.trainingSetId);
        const datasets: Dataset[] = [
          {
            name: 'holdout',
            text: (await deps.artifacts.getVerified(set.holdoutUri, set.holdoutSha256)).toString('utf8'),
          },
        ];
        if (input.goldenSetUri) {
          datasets.push({
            name: 'golden',
            text: (await deps.artifacts.get(input.goldenSetUri)).toString('utf8'),
          });
        }

        const candidateScores: Record<string, Record<string, number>> = {};
        for (const dataset of datasets)
          candidateScores[dataset.name] = await score(input.modelTask, candidate, set.featureNames, dataset);

        const championVersion = await resolveAlias(ctx, input.modelId, 'champion');
        let championScores: Record<string, Record<string, number>> | undefined;
        if (championVersion && championVersion.id !== candidate.id) {
          championScores = {};
          const championSet = championVersion.trainingSetId
            ? await getTrainingSet(ctx, championVersion.trainingSetId)
            : undefined;
          const championFeatures = championSet?.featureNames ?? set.featureNames;
          for (const dataset of datasets) {
            championScores[dataset.name] = await score(
              input.modelTask,
              championVersion,
              championFeatures,
              dataset,
            );
          }
        }

        const gates: GateResult[] = [];
        for (const dataset of datasets) {
          const verdict = evaluateGates(
            candidateScores[dataset.name]!,
            championScores?.[dataset.name],
            input.gates,
          );
          gates.push(
            ...verdict.results.map((result) => ({
              ...result,
              dataset: dataset.name,
              message: `${dataset.name}: ${result.message}`,
            })),
          );
        }
        const report: EvaluationReport = {
          candidate: {
            holdout: candidateScores.holdout!,
            ...(candidateScores.golden ? { golden: candidateScores.golden } : {}),
          },
          ...(championVersion && championScores
            ? {
                champion: {
                  versionId: championVersion.id,
                  version: championVersion.version,
                  holdout: championScores.holdout!,
                  ...(championScores.golden ? { golden: championScores.golden } : {}),
                },
              }
            : {}),
          gates,
          passed: gates.every((gate) => gate.passed),
        };
        await annotateVersion(ctx, candidate.id, { metrics: report.candidate.holdout, evaluation: report });
        return report;
      }),
  };
}
