import { createS3 } from '@shepherd/clients/s3';
import { ShepherdError } from '@shepherd/core/errors';
import { LocalArtifactStore } from './local.ts';
import { S3ArtifactStore } from './s3.ts';
import type { ArtifactStore } from './types.ts';

export type { ArtifactEntry, ArtifactStore, PutResult, PutSource } from './types.ts';
export { LocalArtifactStore } from './local.ts';
export { S3ArtifactStore } from './s3.ts';

/** The variables an app's env schema parsed; passed in, never read from process.env here. */
export interface ArtifactStoreConfig {
  /** Set: artifacts go to S3 (or an S3-compatible server). Unset: the local directory. */
  S3_ENDPOINT?: string | undefined;
  S3_BUCKET?: string | undefined;
  S3_REGION?: string | undefined;
  /** Key prefix inside the bucket, e.g. "staging/" (a trailing "/" is added when missing). */
  S3_PREFIX?: string | undefined;
  AWS_ACCESS_KEY_ID?: string | undefined;
  AWS_SECRET_ACCESS_KEY?: string | undefined;
  /** Root directory of the local store; required when S3_ENDPOINT is unset. */
  ARTIFACT_DIR?: string | undefined;
}

export function createArtifactStore(config: ArtifactStoreConfig): ArtifactStore {
  if (config.S3_ENDPOINT) {
    const bucket = required(config.S3_BUCKET, 'S3_BUCKET', 'S3_ENDPOINT is set');
    const prefix = config.S3_PREFIX ? config.S3_PREFIX.replace(/\/*$/, '/') : '';
    const client = createS3({
      endpoint: config.S3_ENDPOINT,
      region: config.S3_REGION ?? 'us-east-1',
      accessKeyId: config.AWS_ACCESS_KEY_ID,
      secretAccessKey: config.AWS_SECRET_ACCESS_KEY,
      // Artifacts can be hundreds of MB; the client's 30 s default would cut big uploads off.
      requestTimeoutMs: 10 * 60_000,
    });
    return new S3ArtifactStore({ client, bucket, prefix, ownsClient: true });
  }
  const root = required(config.ARTIFACT_DIR, 'ARTIFACT_DIR', 'S3_ENDPOINT is unset');
  return new LocalArtifactStore({ root });
}

function required(value: string | undefined, name: string, because: string): string {
  if (!value)
    throw new ShepherdError('internal', `artifact store config: ${name} is required when ${because}`);
  return value;
}
