import type { Database } from '@shepherd/db/client';

/** Who is acting, on which project: every registry call is scoped by it and audited with it. */
export interface RegistryContext {
  db: Database;
  projectId: string;
  actor: string;
  requestId?: string | undefined;
}
