import { createHash } from 'node:crypto';
import {
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { userInfo } from 'node:os';
import pg from 'pg';
import { localStack } from '../endpoints.ts';
import { lastLines, run, which } from '../process.ts';
import { InstallError, type ServiceDef, type StackContext } from '../types.ts';

const { host, port, user, password, database } = localStack.postgres;

/** PostgreSQL refuses to run as root; when we are root we run it as the Debian `postgres` user. */
export function postgresRunAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const result = readPasswdEntry('postgres');
  if (!result)
    throw new InstallError(
      'postgres',
      'running as root but there is no `postgres` user to run the server as',
    );
  return result;
}

/** Reads /etc/passwd directly rather than pulling in a native module to resolve one user name. */
function readPasswdEntry(name: string): { uid: number; gid: number } | undefined {
  if (!existsSync('/etc/passwd')) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${name}:`));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function binDir(): string | undefined {
  const fromPath = which('pg_ctl');
  if (fromPath) {
    return dirname(realpathSync(fromPath));
  }
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((entry) => existsSync(join(root, entry, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

/**
 * The data directory must be reachable by the `postgres` user. A state dir under /root is not,
 * so then the data lives under /var/lib/shepherd, keyed by the state dir so checkouts don't share it.
 */
export function dataDir(ctx: StackContext): string {
  const preferred = join(ctx.stateDir, 'postgres');
  if (postgresRunAs() === undefined || traversableByOthers(ctx.stateDir)) return preferred;
  const key = createHash('sha256').update(ctx.stateDir).digest('hex').slice(0, 12);
  return join('/var/lib/shepherd', key, 'postgres');
}

function traversableByOthers(path: string): boolean {
  let current = path;
  while (true) {
    if (existsSync(current) && (statSync(current).mode & 0o001) === 0) return false;
    const parent = dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}

export const postgres: ServiceDef = {
  name: 'postgres',
  ports: [port],
  startupTimeoutSeconds: 60,
  async install(ctx) {
    if (binDir()) return;
    if (userInfo().uid !== 0) {
      throw new InstallError(
        'postgres',
        'PostgreSQL server binaries not found; install them with `sudo apt-get install postgresql`',
      );
    }
    ctx.log('postgres: installing PostgreSQL from Debian packages (apt-get)');
    await run('postgres', 'apt-get', ['update', '-q']);
    const installed = await run('postgres', 'apt-get', ['install', '-y', '-q', 'postgresql'], {
      env: { DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (installed.code !== 0 || !binDir()) {
      throw new InstallError(
        'postgres',
        `apt-get install postgresql failed:\n${lastLines(installed.output)}`,
      );
    }
  },
  async prepare(ctx) {
    const dir = dataDir(ctx);
    if (existsSync(join(dir, 'PG_VERSION'))) return;
    const bin = binDir();
    if (!bin) throw new InstallError('postgres', 'PostgreSQL server binaries not found');
    const runAs = postgresRunAs();
    // Parents get the default mode so the postgres user can reach the data dir, which alone is private.
    mkdirSync(dirname(dir), { recursive: true });
    mkdirSync(dir, { mode: 0o700 });
    const pwfile = join(dirname(dir), '.pgpass-init');
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (runAs) {
      chownSync(dir, runAs.uid, runAs.gid);
      chownSync(pwfile, runAs.uid, runAs.gid);
    }
    ctx.log(`postgres: initialising a cluster in ${dir}`);
    const result = await run(
      'postgres',
      join(bin, 'initdb'),
      [
        '-D',
        dir,
        '-U',
        user,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '-E',
        'UTF8',
        '--no-instructions',
      ],
      runAs ?? {},
    );
    rmSync(pwfile, { force: true });
    if (result.code !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new InstallError('postgres', `initdb failed:\n${lastLines(result.output)}`);
    }
  },
  launch(ctx) {
    const bin = binDir();
    if (!bin) throw new InstallError('postgres', 'PostgreSQL server binaries not found');
    const dir = dataDir(ctx);
    return {
      command: join(bin, 'postgres'),
      args: [
        '-D',
        dir,
        '-h',
        host,
        '-p',
        String(port),
        '-k',
        dir,
        '-c',
        'max_connections=200',
        // A dev and test stack: losing the last commits on a power cut is acceptable, slow tests are not.
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
      ],
    };
  },
  runAs: () => postgresRunAs(),
  async healthy() {
    const client = new pg.Client({
      host,
      port,
      user,
      password,
      database: 'postgres',
      connectionTimeoutMillis: 1000,
    });
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  },
  async afterStart() {
    const client = new pg.Client({ host, port, user, password, database: 'postgres' });
    await client.connect();
    try {
      const exists = await client.query('select 1 from pg_database where datname = $1', [database]);
      if (exists.rowCount === 0) await client.query(`create database ${database}`);
    } finally {
      await client.end();
    }
  },
};
