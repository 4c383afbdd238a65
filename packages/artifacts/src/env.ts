import { z } from 'zod';
import { httpUrl } from '@shepherd/core/env';

/** The artifact store's variables, shared by every app's env schema (spread into it). */
export const artifactStoreEnv = {
  /** Unset: artifacts in ARTIFACT_DIR on local disk. */
  S3_ENDPOINT: httpUrl.optional(),
  S3_BUCKET: z.string().min(3).default('shepherd-artifacts'),
  S3_REGION: z.string().default('us-east-1'),
  AWS_ACCESS_KEY_ID: z.string().optional(),
  AWS_SECRET_ACCESS_KEY: z.string().optional(),
  ARTIFACT_DIR: z.string().default('.state/artifacts'),
};
