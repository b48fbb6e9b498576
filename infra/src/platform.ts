import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { sleep } from './process';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** A platform process: a workspace whose package.json has `"waooaw": { "service": ..., "port": ... }`. */
export interface PlatformService {
  name: string;
  port: number;
  dir: string;
  entry: string;
  /** False for a process without a GraphQL endpoint (the agents runtime: health and metrics only). */
  graphql: boolean;
}

/** The services of the repository, in the order their ports give (identity 4001, factory 4002 ...). */
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
  /** SIGTERM to every service (each shuts down in order), then wait for them to exit. */
  stop(): Promise<void>;
}

async function waitReady(service: PlatformService, child: ChildProcess, timeoutMs: number): Promise<void> {
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

/** Starts every service with the infrastructure's addresses, its output prefixed by its name. */
export async function startPlatform(
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  timeoutMs = 120_000,
): Promise<RunningPlatform> {
  const services = discoverServices();
  const children = new Map<string, ChildProcess>();
  let stopping = false;
  for (const service of services) {
    if (!existsSync(service.entry))
      throw new Error(`${service.entry} is missing: run \`npm run build\` first`);
    const child = spawn(process.execPath, [service.entry], {
      cwd: service.dir,
      env: { ...env, PORT: String(service.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => log(`[${service.name}] ${line}`));
    }
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
    await Promise.all(services.map((s) => waitReady(s, children.get(s.name)!, timeoutMs)));
  } catch (err) {
    await stop();
    throw err;
  }
  return { services, stop };
}
