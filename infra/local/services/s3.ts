import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { localStack } from '../endpoints.ts';
import { InstallError, type ServiceDef, type StackContext } from '../types.ts';
import { lastLines, run } from '../process.ts';

/**
 * MinIO publishes no tagged Go module versions (its releases are date tags outside semver), so
 * the pin is the pseudo-version of a master commit; `go install …@latest` is how to find a newer one.
 * Built from source through the Go module proxy because release binaries are not downloadable here.
 */
export const MINIO_MODULE = 'github.com/minio/minio';
export const MINIO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';

const SERVICE = 's3';
const { host, port, consolePort, accessKeyId, secretAccessKey, bucket, region } = localStack.s3;
const endpoint = `http://${host}:${port}`;

const installDir = (ctx: StackContext) => join(ctx.cacheDir, `minio-${MINIO_VERSION}`);
const binary = (ctx: StackContext) => join(installDir(ctx), 'bin', 'minio');
const markerFile = (ctx: StackContext) => join(installDir(ctx), '.installed');
const homeDir = (ctx: StackContext) => join(ctx.stateDir, 's3');
const dataDir = (ctx: StackContext) => join(homeDir(ctx), 'data');

/** Fails early and plainly when there is no Go; a too-old Go explains itself in go install's output. */
async function checkGo(): Promise<void> {
  const { code, output } = await run(SERVICE, 'go', ['version']);
  if (code !== 0) throw new InstallError(SERVICE, `go version exited ${code}: ${lastLines(output, 5)}`);
}

function s3Client(): S3Client {
  return new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 2,
  });
}

export const s3: ServiceDef = {
  name: SERVICE,
  ports: [port, consolePort],
  startupTimeoutSeconds: 30,

  async install(ctx) {
    if (existsSync(markerFile(ctx)) && existsSync(binary(ctx))) return;

    await checkGo();
    ctx.log(
      `s3: building MinIO ${MINIO_VERSION} from the Go module proxy (first run only, ~4 min cold, <1 min with a warm Go cache)`,
    );
    const started = Date.now();
    const ticker = setInterval(() => {
      ctx.log(`s3: still building MinIO (${Math.round((Date.now() - started) / 1000)} s)`);
    }, 30_000);
    let result: { code: number; output: string };
    try {
      await mkdir(installDir(ctx), { recursive: true });
      result = await run(SERVICE, 'go', ['install', '-trimpath', `${MINIO_MODULE}@${MINIO_VERSION}`], {
        cwd: installDir(ctx),
        env: {
          GOBIN: join(installDir(ctx), 'bin'),
          // Static binary, as MinIO's own release builds: no C toolchain, no libc coupling.
          CGO_ENABLED: '0',
        },
      });
    } finally {
      clearInterval(ticker);
    }
    if (result.code !== 0)
      throw new InstallError(
        SERVICE,
        `go install ${MINIO_MODULE}@${MINIO_VERSION} exited ${result.code}: ${lastLines(result.output)}`,
      );
    if (!existsSync(binary(ctx)))
      throw new InstallError(SERVICE, `go install succeeded but ${binary(ctx)} is missing`);
    await writeFile(markerFile(ctx), `${MINIO_MODULE}@${MINIO_VERSION}\n`);
    ctx.log(`s3: MinIO built in ${Math.round((Date.now() - started) / 1000)} s`);
  },

  async prepare(ctx) {
    // MinIO formats an empty directory itself on first start.
    await mkdir(dataDir(ctx), { recursive: true });
  },

  launch(ctx) {
    return {
      command: binary(ctx),
      args: [
        'server',
        dataDir(ctx),
        '--address',
        `${host}:${port}`,
        '--console-address',
        `${host}:${consolePort}`,
        // The default is ~/.minio/certs; keep everything of this stack under stateDir.
        '--certs-dir',
        join(homeDir(ctx), 'certs'),
      ],
      env: {
        MINIO_ROOT_USER: accessKeyId,
        MINIO_ROOT_PASSWORD: secretAccessKey,
        MINIO_SITE_REGION: region,
        // A dev build has no release to compare with; don't phone home.
        MINIO_UPDATE: 'off',
      },
      cwd: homeDir(ctx),
    };
  },

  async healthy() {
    try {
      const res = await fetch(`${endpoint}/minio/health/live`, { signal: AbortSignal.timeout(2_000) });
      // The listener answers 200 before the object layer is up; until then it flags itself offline.
      return res.ok && res.headers.get('x-minio-server-status') !== 'offline';
    } catch {
      return false;
    }
  },

  async afterStart() {
    const client = s3Client();
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (err) {
      if (err instanceof S3ServiceException && err.name === 'BucketAlreadyOwnedByYou') return;
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(`s3: creating bucket ${bucket} at ${endpoint} failed: ${message}`);
    } finally {
      client.destroy();
    }
  },
};
