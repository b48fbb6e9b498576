import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** What the launcher remembers about a server it started (one JSON file per server). */
export interface ProcessRecord {
  name: string;
  pid: number;
  host: string;
  port: number;
  ephemeral: boolean;
  dataDir: string;
  logFile: string;
  startedAt: string;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when something accepts TCP connections on host:port. */
export function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * `count` distinct ports nothing listens on right now, picked by the OS (each held until all are
 * picked, so they differ). A port can be taken by someone else before it is used; the OS hands out
 * recently freed ports last, so that is rare, and a server that cannot bind fails its start-up.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const held: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      held.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, () => resolve());
      });
    }
    return held.map((server) => (server.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(held.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

/** A port nothing listens on right now (see freePorts). */
export const freePort = async (host = '127.0.0.1'): Promise<number> => (await freePorts(1, host))[0]!;

/**
 * Starts a long-lived server process that outlives the launcher (so `infra:up` can return), with
 * stdout and stderr appended to a log file.
 */
export function spawnDetached(command: string, args: string[], logFile: string, cwd: string): number {
  mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** SIGTERM, then SIGKILL when the process has not exited within the grace period. */
export async function stopProcess(
  pid: number,
  graceMs: number,
): Promise<'stopped' | 'killed' | 'not-running'> {
  if (!isAlive(pid)) return 'not-running';
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'stopped';
    await sleep(100);
  }
  process.kill(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(50);
  return 'killed';
}

export class RecordStore {
  constructor(private readonly dir: string) {}

  private file(name: string) {
    return path.join(this.dir, `${name}.json`);
  }

  read(name: string): ProcessRecord | undefined {
    const file = this.file(name);
    if (!existsSync(file)) return undefined;
    return JSON.parse(readFileSync(file, 'utf8')) as ProcessRecord;
  }

  write(record: ProcessRecord): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(this.file(record.name), JSON.stringify(record, null, 2));
  }

  remove(name: string): void {
    rmSync(this.file(name), { force: true });
  }
}

/**
 * A cross-process lock (mkdir is atomic), so two launchers started at once (two terminals, or
 * parallel test runs) do not both start servers on the same ports. A lock left by a dead process
 * is taken over.
 */
export async function withLock<T>(dir: string, fn: () => Promise<T>, timeoutMs = 10 * 60_000): Promise<T> {
  const lockDir = path.join(dir, 'launcher.lock');
  const owner = path.join(lockDir, 'pid');
  mkdirSync(dir, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(owner, String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = existsSync(owner) ? Number(readFileSync(owner, 'utf8')) : NaN;
      if (Number.isInteger(holder) && !isAlive(holder)) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(`another launcher (pid ${holder}) holds ${lockDir}`, { cause: err });
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}
