import { ensureTemplateDatabase } from '@shepherd/db/test-databases';
import { ensureServices } from './services.ts';
import { testEnv } from './env.ts';

/** Runs once before the integration suite: real services up, template database migrated. */
export default async function setup(): Promise<void> {
  await ensureServices((message) => process.stdout.write(`[testing] ${message}\n`));
  await ensureTemplateDatabase({ adminUrl: testEnv().DATABASE_URL });
}
