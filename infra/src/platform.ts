import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { sleep } from './process';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/**
 * Each service's METRICS_PORT (where /metrics is served; the services serve none unless told) is
 * its HTTP port plus this, so a second platform's moved ports move it too.
 */
export const METRICS_PORT_OFFSET = 5000;

/** A platform process: a workspace whose package.json has `"waooaw": { "service": ..., "port": ... }`. */
export interface PlatformService {
  name: string;
  port: number;
  dir: string;
  entry: string;
  /** False for a process without a GraphQL endpoint (the agents runtime: health and metrics only). */
  graphql: boolean;
}

/**
 * The services of the repository, in the order of their ports (gateway, the subgraphs, the agents
 * runtime). The ports are package.json's `waooaw.port`: @waooaw/shared depends on this package, so
 * it cannot import shared's PORTS; shared/src/__tests__/ports.test.ts holds the two equal.
 */
export function discoverServices(root = REPO_ROOT): PlatformService[] {
  const candidates = [
    'gateway',
    'agents',
    ...readdirSync(path.join(root, 'services')).map((d) => `services/${d}`),
  ];
  const found: PlatformService[] = [];
  for (const rel of candidates) {
    const pkgFile = path.join(root, rel, 'package.json');
    if (!existsSync(pkgFile)) continue;
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as {
      main?: string;
      /** `entry` names the process when the package's main is a library (the agents runtime). */
      waooaw?: { service?: string; port?: number; entry?: string; graphql?: boolean };
    };
    const entry = pkg.waooaw?.entry ?? pkg.main;
    if (!pkg.waooaw?.service || !entry) continue;
    found.push({
      name: pkg.waooaw.service,
      port: pkg.waooaw.port ?? 0,
      dir: path.join(root, rel),
      entry: path.join(root, rel, entry),
      graphql: pkg.waooaw.graphql ?? true,
    });
  }
  return found.sort((a, b) => a.port - b.port);
}

export interface RunningPlatform {
  services: PlatformService[];
  /** The process id of each service, by name (for resource figures such as the bench's). */
  pids(): Record<string, number>;
  /** SIGTERM to every service (each shuts down in order), then wait for them to exit. */
  stop(): Promise<void>;
}

/** Waits until `service` answers /health/ready (throws if `child` exits first or time runs out). */
export async function waitServiceReady(
  service: Pick<PlatformService, 'name' | 'port'>,
  child: ChildProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`${service.name} exited with code ${child.exitCode} during start-up`);
    try {
      const res = await fetch(`http://127.0.0.1:${service.port}/health/ready`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error(`${service.name} was not ready on port ${service.port} within ${timeoutMs} ms`);
}

export interface PlatformOptions {
  /**
   * Added to every service's port, so a second platform (the bench's development runs) can share the
   * machine with the one `npm start` runs; the services are told each other's moved URLs.
   */
  portOffset?: number;
  /** Services (by name, e.g. `agents-runtime`) not to start. */
  exclude?: readonly string[];
  /** Extra environment for one service, by name. */
  serviceEnv?: Readonly<Record<string, NodeJS.ProcessEnv>>;
  /** Node options for one service, by name (e.g. `--cpu-prof`, which NODE_OPTIONS does not allow). */
  nodeArgs?: Readonly<Record<string, readonly string[]>>;
}

/**
 * The services with their ports moved by `offset`, and the variables that tell each process where
 * the others are (the gateway's `<NAME>_URL`s, the runtime's ORCHESTRATION_URL and FACTORY_URL).
 */
export function platformAddresses(services: PlatformService[], offset = 0) {
  const moved = services.map((s) => ({ ...s, port: s.port + offset }));
  const env: NodeJS.ProcessEnv = {};
  if (offset !== 0) {
    for (const s of moved) {
      if (!s.graphql) continue;
      if (s.name === 'gateway') env.A2A_BASE_URL = `http://localhost:${s.port}`;
      else env[`${s.name.toUpperCase()}_URL`] = `http://localhost:${s.port}/graphql`;
    }
  }
  return { services: moved, env };
}

/**
 * One service process, as startPlatform starts it: `env` (the infrastructure's and the other
 * services' addresses) plus its METRICS_PORT and PORT from `service.port`, its output prefixed by its
 * name. The chaos bench restarts single services with it (the same settings, or another port).
 */
export function spawnService(
  service: PlatformService,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  options: { env?: NodeJS.ProcessEnv; nodeArgs?: readonly string[] } = {},
): ChildProcess {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), service.entry], {
    cwd: service.dir,
    env: {
      ...env,
      METRICS_PORT: String(service.port + METRICS_PORT_OFFSET),
      ...(options.env ?? {}),
      PORT: String(service.port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (line) => log(`[${service.name}] ${line}`));
  }
  return child;
}

/** Starts every service with the infrastructure's addresses, its output prefixed by its name. */
export async function startPlatform(
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  timeoutMs = 120_000,
  options: PlatformOptions = {},
): Promise<RunningPlatform> {
  const addresses = platformAddresses(discoverServices(), options.portOffset ?? 0);
  const services = addresses.services.filter((s) => !options.exclude?.includes(s.name));
  const children = new Map<string, ChildProcess>();
  let stopping = false;
  for (const service of services) {
    if (!existsSync(service.entry))
      throw new Error(`${service.entry} is missing: run \`npm run build\` first`);
    const child = spawnService(service, { ...env, ...addresses.env }, log, {
      env: options.serviceEnv?.[service.name],
      nodeArgs: options.nodeArgs?.[service.name],
    });
    child.once('exit', (code, signal) => {
      if (!stopping)
        log(
          `[platform] attention: ${service.name} exited (${signal ?? `code ${code}`}); see its output above`,
        );
    });
    children.set(service.name, child);
  }
  const stop = async () => {
    stopping = true;
    const exits = [...children.values()].map(
      (child) =>
        new Promise<void>((resolve) =>
          child.exitCode !== null ? resolve() : child.once('exit', () => resolve()),
        ),
    );
    for (const child of children.values()) if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.all(exits);
  };
  try {
    await Promise.all(services.map((s) => waitServiceReady(s, children.get(s.name)!, timeoutMs)));
  } catch (err) {
    await stop();
    throw err;
  }
  const pids = () =>
    Object.fromEntries(
      [...children].flatMap(([name, child]) => (child.pid === undefined ? [] : [[name, child.pid]])),
    );
  return { services, pids, stop };
}
