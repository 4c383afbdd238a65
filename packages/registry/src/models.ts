import { and, asc, eq } from 'drizzle-orm';
import { ShepherdError } from '@shepherd/core/errors';
import { isUniqueViolation } from '@shepherd/db/errors';
import { models, type Model } from '@shepherd/db/schema';
import { recordAudit } from './audit.ts';
import type { RegistryContext } from './context.ts';

export interface CreateModelInput {
  name: string;
  task: string;
  description?: string | undefined;
}

export async function createModel(ctx: RegistryContext, input: CreateModelInput): Promise<Model> {
  try {
    return await ctx.db.transaction(async (tx) => {
      const [model] = await tx
        .insert(models)
        .values({
          projectId: ctx.projectId,
          name: input.name,
          task: input.task,
          description: input.description ?? null,
        })
        .returning();
      await recordAudit(tx, ctx, {
        action: 'model.created',
        subjectKind: 'model',
        subjectId: model!.id,
        after: model,
      });
      return model!;
    });
  } catch (err) {
    if (isUniqueViolation(err, 'models_project_name_unique')) {
      throw new ShepherdError('conflict', `model '${input.name}' already exists`);
    }
    throw err;
  }
}

export async function findModel(ctx: RegistryContext, name: string): Promise<Model | undefined> {
  const [model] = await ctx.db
    .select()
    .from(models)
    .where(and(eq(models.projectId, ctx.projectId), eq(models.name, name)));
  return model;
}

export async function getModel(ctx: RegistryContext, name: string): Promise<Model> {
  const model = await findModel(ctx, name);
  if (!model) throw new ShepherdError('not_found', `model '${name}' does not exist`);
  return model;
}

export async function getModelById(ctx: RegistryContext, id: string): Promise<Model> {
  const [model] = await ctx.db
    .select()
    .from(models)
    .where(and(eq(models.projectId, ctx.projectId), eq(models.id, id)));
  if (!model) throw new ShepherdError('not_found', `model ${id} does not exist`);
  return model;
}

export async function listModels(ctx: RegistryContext): Promise<Model[]> {
  return ctx.db.select().from(models).where(eq(models.projectId, ctx.projectId)).orderBy(asc(models.name));
}
