/** What the stack manager needs to know to install, start and check one real service. */
export interface StackContext {
  /** Downloads and built binaries, shared across checkouts (default ~/.cache/shepherd). */
  cacheDir: string;
  /** Data and logs of this stack (default <repo>/.state/stack). */
  stateDir: string;
  /** Progress for the person waiting: what is being installed, how far it has got. */
  log: (message: string) => void;
}

export interface LaunchSpec {
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
}

export interface ServiceDef {
  name: string;
  /** Loopback ports this service binds; `up` refuses to start when one is taken by someone else. */
  ports: number[];
  /** Idempotent: does nothing when the cached install is complete. Throws InstallError naming the problem. */
  install(ctx: StackContext): Promise<void>;
  /** One-time initialisation of the data directory (initdb, storage format); idempotent. */
  prepare?(ctx: StackContext): Promise<void>;
  launch(ctx: StackContext): LaunchSpec;
  /** The user to run as when started by root (PostgreSQL refuses to run as root). */
  runAs?(): { uid: number; gid: number } | undefined;
  /** True once the service answers real requests, not merely once the port is open. */
  healthy(ctx: StackContext): Promise<boolean>;
  /** Seconds to wait for `healthy` after launch. */
  startupTimeoutSeconds: number;
  /** Runs once after the service is first healthy (create buckets, databases). Idempotent. */
  afterStart?(ctx: StackContext): Promise<void>;
}

export class InstallError extends Error {
  constructor(service: string, message: string) {
    super(`${service}: install failed: ${message}`);
    this.name = 'InstallError';
  }
}
