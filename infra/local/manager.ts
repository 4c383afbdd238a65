import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { services as allServices } from './services/index.ts';
import {
  isOurs,
  logFile,
  portHolder,
  portOpen,
  readPid,
  sleep,
  startDetached,
  stopProcess,
} from './process.ts';
import type { ServiceDef, StackContext } from './types.ts';

export class StackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StackError';
  }
}

export function selectServices(names: string[], catalog: ServiceDef[] = allServices): ServiceDef[] {
  if (names.length === 0) return catalog;
  return names.map((name) => {
    const found = catalog.find((service) => service.name === name);
    if (!found) {
      throw new StackError(`unknown service '${name}' (known: ${catalog.map((s) => s.name).join(', ')})`);
    }
    return found;
  });
}

export interface ServiceStatus {
  name: string;
  pid?: number;
  running: boolean;
  healthy: boolean;
  ports: number[];
  log: string;
}

export async function status(ctx: StackContext, names: string[] = []): Promise<ServiceStatus[]> {
  return Promise.all(
    selectServices(names).map(async (service) => {
      const record = readPid(ctx.stateDir, service.name);
      const running = record !== undefined && isOurs(record);
      return {
        name: service.name,
        ...(running ? { pid: record.pid } : {}),
        running,
        healthy: running && (await service.healthy(ctx)),
        ports: service.ports,
        log: logFile(ctx.stateDir, service.name),
      };
    }),
  );
}

/** Installs what is missing, starts what is not running, and waits until every service answers. */
export async function up(
  ctx: StackContext,
  names: string[] = [],
  catalog: ServiceDef[] = allServices,
): Promise<void> {
  const selected = selectServices(names, catalog);
  mkdirSync(ctx.stateDir, { recursive: true });
  for (const service of selected) await service.install(ctx);

  const started: ServiceDef[] = [];
  for (const service of selected) {
    const record = readPid(ctx.stateDir, service.name);
    if (record && isOurs(record)) {
      ctx.log(`${service.name}: already running (pid ${record.pid})`);
      continue;
    }
    for (const port of service.ports) {
      if (await portOpen(port)) {
        const holder = portHolder(port);
        throw new StackError(
          `${service.name}: port ${port} is already taken${holder ? ` by ${holder}` : ''}; stop that process or free the port`,
        );
      }
    }
    await service.prepare?.(ctx);
    const launched = startDetached(ctx.stateDir, service.name, service.launch(ctx), service.runAs?.());
    ctx.log(`${service.name}: started (pid ${launched.pid}), log ${logFile(ctx.stateDir, service.name)}`);
    started.push(service);
  }

  await Promise.all(selected.map((service) => waitHealthy(ctx, service)));
  for (const service of started) await service.afterStart?.(ctx);
  ctx.log(`stack ready: ${selected.map((service) => service.name).join(', ')}`);
}

async function waitHealthy(ctx: StackContext, service: ServiceDef): Promise<void> {
  const deadline = Date.now() + service.startupTimeoutSeconds * 1000;
  while (Date.now() < deadline) {
    if (await service.healthy(ctx)) {
      ctx.log(`${service.name}: healthy`);
      return;
    }
    const record = readPid(ctx.stateDir, service.name);
    if (!record || !isOurs(record)) {
      throw new StackError(
        `${service.name}: exited during startup; see ${logFile(ctx.stateDir, service.name)}`,
      );
    }
    await sleep(500);
  }
  throw new StackError(
    `${service.name}: not healthy after ${service.startupTimeoutSeconds}s; see ${logFile(ctx.stateDir, service.name)}`,
  );
}

/** Stops only processes this stack started (by recorded pid), in reverse start order. */
export async function down(
  ctx: StackContext,
  names: string[] = [],
  options: { purge?: boolean } = {},
): Promise<void> {
  const selected = selectServices(names).reverse();
  for (const service of selected) {
    const outcome = await stopProcess(ctx.stateDir, service.name);
    ctx.log(`${service.name}: ${outcome}`);
  }
  if (options.purge && names.length === 0 && existsSync(ctx.stateDir)) {
    rmSync(ctx.stateDir, { recursive: true, force: true });
    ctx.log(`removed ${ctx.stateDir}`);
  }
}
