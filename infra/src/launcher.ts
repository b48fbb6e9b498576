import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ProcessRecord } from './process';
import { isAlive, portOpen, RecordStore, sleep, stopProcess, withLock } from './process';
import type { LauncherPaths, ServerDef, ServerName, ServerOptions } from './servers';
import { servers } from './servers';

export interface LauncherOptions extends ServerOptions, LauncherPaths {
  /** Environment used for KAFKA_BROKERS / MONGO_URL overrides. */
  env: NodeJS.ProcessEnv;
  readyTimeoutMs: number;
  log: (msg: string) => void;
}

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Defaults: the ports of docs/architecture.md, state in <repo>/.infra, jars in the user cache. */
export function launcherOptions(overrides: Partial<LauncherOptions> = {}): LauncherOptions {
  const env = overrides.env ?? process.env;
  const cacheHome = env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return {
    host: '127.0.0.1',
    kafkaPort: 9092,
    controllerPort: 9093,
    mongoPort: 27017,
    ephemeral: false,
    kafkaHeap: env.WAOOAW_KAFKA_HEAP ?? '-Xms256m -Xmx1g',
    mongoHeap: env.WAOOAW_MONGO_HEAP ?? '-Xms128m -Xmx2g',
    cacheDir: env.WAOOAW_INFRA_CACHE ?? path.join(cacheHome, 'waooaw', 'infra'),
    stateDir: env.WAOOAW_INFRA_STATE ?? path.join(REPO_ROOT, '.infra'),
    readyTimeoutMs: 120_000,
    log: () => undefined,
    ...overrides,
    env,
  };
}

export type ServerState = 'running' | 'external' | 'stopped' | 'not-ready';

export interface ServerStatus {
  name: ServerName;
  /** Where clients connect: a broker list for Kafka, a connection string for Mongo. */
  address: string;
  state: ServerState;
  /** True when this launcher started (and so may stop) the server. */
  managed: boolean;
  pid?: number;
  ephemeral?: boolean;
  logFile?: string;
}

export interface UpResult {
  kafkaBrokers: string;
  mongoUrl: string;
  /** The servers this call started; a caller stops only these. */
  started: ServerName[];
  statuses: ServerStatus[];
  readyMs: number;
}

function records(opts: LauncherOptions) {
  return new RecordStore(path.join(opts.stateDir, 'run'));
}

function recordName(def: ServerDef, opts: LauncherOptions) {
  return `${def.name}-${def.port(opts)}`;
}

async function waitReady(
  def: ServerDef,
  address: string,
  opts: LauncherOptions,
  pid?: number,
): Promise<void> {
  const deadline = Date.now() + opts.readyTimeoutMs;
  while (Date.now() < deadline) {
    if (await def.probe(address)) return;
    if (pid !== undefined && !isAlive(pid)) throw new Error(`${def.name} exited during start-up`);
    await sleep(250);
  }
  throw new Error(`${def.name} at ${address} did not become ready within ${opts.readyTimeoutMs} ms`);
}

function logTail(file: string | undefined, lines = 30): string {
  if (!file) return '';
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

async function statusOf(def: ServerDef, opts: LauncherOptions): Promise<ServerStatus> {
  const override = opts.env[def.envVar];
  if (override) {
    return {
      name: def.name,
      address: override,
      state: (await def.probe(override)) ? 'external' : 'not-ready',
      managed: false,
    };
  }
  const address = def.address(opts);
  const record = records(opts).read(recordName(def, opts));
  if (record && isAlive(record.pid)) {
    return {
      name: def.name,
      address,
      state: (await def.probe(address)) ? 'running' : 'not-ready',
      managed: true,
      pid: record.pid,
      ephemeral: record.ephemeral,
      logFile: record.logFile,
    };
  }
  if (await portOpen(opts.host, def.port(opts))) {
    return {
      name: def.name,
      address,
      state: (await def.probe(address)) ? 'external' : 'not-ready',
      managed: false,
    };
  }
  return { name: def.name, address, state: 'stopped', managed: false };
}

/** What is running now, without changing anything. */
export async function status(opts: LauncherOptions): Promise<ServerStatus[]> {
  return Promise.all(servers.map((def) => statusOf(def, opts)));
}

async function upOne(
  def: ServerDef,
  opts: LauncherOptions,
): Promise<{ status: ServerStatus; started: boolean }> {
  const current = await statusOf(def, opts);
  if (current.state === 'external' || current.state === 'running') {
    opts.log(`${def.name}: already ${current.state === 'running' ? 'running' : 'up'} at ${current.address}`);
    return { status: current, started: false };
  }
  if (current.state === 'not-ready') {
    // Either our process is still booting (wait for it) or something else holds the port.
    opts.log(`${def.name}: ${current.address} is taken but not answering yet; waiting`);
    await waitReady(def, current.address, opts, current.pid);
    return { status: { ...current, state: current.managed ? 'running' : 'external' }, started: false };
  }
  const store = records(opts);
  store.remove(recordName(def, opts));
  const record: ProcessRecord = await def.start(opts, opts, opts.log);
  store.write({ ...record, name: recordName(def, opts) });
  opts.log(`${def.name}: started (pid ${record.pid}), waiting until it answers; log: ${record.logFile}`);
  try {
    await waitReady(def, def.address(opts), opts, record.pid);
  } catch (err) {
    await stopProcess(record.pid, 5_000);
    store.remove(recordName(def, opts));
    if (record.ephemeral) rmSync(record.dataDir, { recursive: true, force: true });
    throw new Error(
      `${(err as Error).message}\nlast lines of ${record.logFile}:\n${logTail(record.logFile)}`,
      { cause: err },
    );
  }
  return {
    status: {
      name: def.name,
      address: def.address(opts),
      state: 'running',
      managed: true,
      pid: record.pid,
      ephemeral: record.ephemeral,
      logFile: record.logFile,
    },
    started: true,
  };
}

/**
 * Makes Kafka and the MongoDB-protocol server available and ready. Idempotent: servers already
 * running (started by us or anyone else, or named by KAFKA_BROKERS / MONGO_URL) are only checked.
 * Both servers boot in parallel.
 */
export async function up(opts: LauncherOptions): Promise<UpResult> {
  const began = Date.now();
  return withLock(opts.stateDir, async () => {
    const settled = await Promise.allSettled(servers.map((def) => upOne(def, opts)));
    const failures = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    const results = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    if (failures.length > 0) {
      // Leave nothing half-started behind.
      for (const r of results) if (r.started) await downOne(r.status.name, opts);
      throw new Error(failures.map((f) => (f.reason as Error).message).join('\n'));
    }
    const byName = (name: ServerName) => results.find((r) => r.status.name === name)!.status;
    return {
      kafkaBrokers: byName('kafka').address,
      mongoUrl: byName('mongo').address,
      started: results.filter((r) => r.started).map((r) => r.status.name),
      statuses: results.map((r) => r.status),
      readyMs: Date.now() - began,
    };
  });
}

async function downOne(name: ServerName, opts: LauncherOptions): Promise<boolean> {
  const def = servers.find((s) => s.name === name)!;
  const store = records(opts);
  const key = recordName(def, opts);
  const record = store.read(key);
  if (!record) return false;
  // Kafka's controlled shutdown takes a few seconds; give it time before SIGKILL.
  const outcome = await stopProcess(record.pid, name === 'kafka' ? 30_000 : 10_000);
  if (record.ephemeral) rmSync(record.dataDir, { recursive: true, force: true });
  store.remove(key);
  opts.log(`${name}: ${outcome === 'not-running' ? 'was not running' : outcome}`);
  return outcome !== 'not-running';
}

/**
 * Stops the servers this launcher started (or only those named). Idempotent; never touches servers
 * it did not start.
 */
export async function down(opts: LauncherOptions, only?: ServerName[]): Promise<ServerName[]> {
  return withLock(opts.stateDir, async () => {
    const names = only ?? servers.map((s) => s.name);
    const stopped: ServerName[] = [];
    for (const name of names) if (await downOne(name, opts)) stopped.push(name);
    return stopped;
  });
}
