import { eq } from 'drizzle-orm';
import type { RolloutStep } from '@shepherd/contracts/serving';
import { ShepherdError } from '@shepherd/core/errors';
import { projects } from '@shepherd/db/schema';
import { recordAudit } from './audit.ts';
import type { RegistryContext } from './context.ts';

export interface ProjectSettings {
  fourEyesPromotion: boolean;
}

const settingsColumns = { fourEyesPromotion: projects.fourEyesPromotion };

/**
 * Read from the database at each use rather than from the caller's principal: token checks are
 * cached for a few seconds, and a setting an admin just changed must apply to the next approval.
 */
export async function getProjectSettings(ctx: RegistryContext): Promise<ProjectSettings> {
  const [row] = await ctx.db.select(settingsColumns).from(projects).where(eq(projects.id, ctx.projectId));
  if (!row) throw new ShepherdError('not_found', `project ${ctx.projectId} does not exist`);
  return row;
}

/** Changes the named settings; the audit entry holds the settings before and after. Unchanged: no entry. */
export async function updateProjectSettings(
  ctx: RegistryContext,
  change: Partial<ProjectSettings>,
): Promise<ProjectSettings> {
  return ctx.db.transaction(async (tx) => {
    // Locked, so two admins changing settings at once each audit what they actually replaced.
    const [before] = await tx
      .select(settingsColumns)
      .from(projects)
      .where(eq(projects.id, ctx.projectId))
      .for('update');
    if (!before) throw new ShepherdError('not_found', `project ${ctx.projectId} does not exist`);
    const after: ProjectSettings = {
      fourEyesPromotion: change.fourEyesPromotion ?? before.fourEyesPromotion,
    };
    if (after.fourEyesPromotion === before.fourEyesPromotion) return before;
    await tx
      .update(projects)
      .set({ fourEyesPromotion: after.fourEyesPromotion })
      .where(eq(projects.id, ctx.projectId));
    await recordAudit(tx, ctx, {
      action: 'project.settings_updated',
      subjectKind: 'project',
      subjectId: ctx.projectId,
      before,
      after,
    });
    return after;
  });
}

/**
 * Four eyes on moving `champion` on an endpoint: refuses when the project requires it and the
 * actor approving is the one who started the rollout. Rollouts started by the training pipeline
 * carry the actor of whoever started the training, so that person cannot approve them either.
 */
export async function assertFourEyes(
  ctx: RegistryContext,
  rollout: { startedBy: string },
  what: 'approve' | 'promote',
): Promise<void> {
  if (rollout.startedBy !== ctx.actor) return;
  const { fourEyesPromotion } = await getProjectSettings(ctx);
  if (!fourEyesPromotion) return;
  throw new ShepherdError(
    'forbidden',
    `four eyes: the rollout must be ${what === 'approve' ? 'approved' : 'promoted'} by someone other than who started it (${ctx.actor}); this project requires four-eyes promotion`,
  );
}

/**
 * The steps of a rollout under four-eyes promotion: a plan that already stops for approval keeps
 * its gates (the approval, checked by `assertFourEyes`, is the second person's); one without any
 * waits for approval before its final step, the one that ends in promotion.
 */
export function withPromotionGate(steps: readonly RolloutStep[]): RolloutStep[] {
  if (steps.some((step) => step.manualApproval)) return [...steps];
  return steps.map((step, index) => (index === steps.length - 1 ? { ...step, manualApproval: true } : step));
}
