import { eq } from 'drizzle-orm';
import { ShepherdError } from '@shepherd/core/errors';
import type { Database } from '@shepherd/db/client';
import { projects, type Project } from '@shepherd/db/schema';

export async function ensureProject(db: Database, slug: string, name = slug): Promise<Project> {
  await db.insert(projects).values({ slug, name }).onConflictDoNothing({ target: projects.slug });
  return getProject(db, slug);
}

export async function getProject(db: Database, slug: string): Promise<Project> {
  const [project] = await db.select().from(projects).where(eq(projects.slug, slug));
  if (!project) throw new ShepherdError('not_found', `project '${slug}' does not exist`);
  return project;
}
