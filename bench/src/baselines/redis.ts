/**
 * The Redis a baseline runs on: where it is, whether it answers, what it is (version, persistence),
 * its process on this machine (for its CPU), and removing what a run left in it.
 */
import { Redis } from 'ioredis';
import { findProcesses, readProcess } from '../proc';

/** The Redis the bench uses: REDIS_URL, else the local default port. */
export function defaultRedisUrl(): string {
  return process.env.REDIS_URL || 'redis://127.0.0.1:6379';
}

/** host:port of a Redis URL, without credentials (for notes and logs). */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}:${u.port || '6379'}${u.pathname.length > 1 ? u.pathname : ''}`;
  } catch {
    return 'an unparsable Redis URL';
  }
}

/** null when a Redis at `url` answers PING within `timeoutMs`; else why not (for the "skipped" note). */
export async function redisAnswers(url: string, timeoutMs = 2000): Promise<string | null> {
  const where = redactRedisUrl(url);
  let client: Redis;
  try {
    client = new Redis(url, {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      // One try: a probe that retries would hide "nobody there" behind the timeout.
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
    });
  } catch (err) {
    return `${where}: ${err instanceof Error ? err.message : String(err)}`;
  }
  // The reason comes from connect()/ping() below; an unheard 'error' event would be thrown instead.
  client.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    const pong = await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return pong === 'PONG' ? null : `${where} answered PING with ${String(pong)}`;
  } catch (err) {
    return `no Redis answered at ${where} (${err instanceof Error ? err.message : String(err)})`;
  } finally {
    clearTimeout(timer);
    // After a failed connect the socket is closed already: disconnect() would then wait 2 s for a
    // 'close' that never comes (a timer that keeps the process, or jest, from exiting).
    if (client.status !== 'end') client.disconnect();
  }
}

/** The Redis server's process, when it runs on this machine and /proc shows it. */
export function findRedisProcess(url: string): { pid: number | null; note: string | null } {
  let host: string;
  let port: string;
  try {
    const u = new URL(url);
    host = u.hostname;
    port = u.port || '6379';
  } catch {
    return { pid: null, note: 'the Redis URL does not parse, so its process is unknown' };
  }
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host))
    return { pid: null, note: `Redis runs on ${host}, not on this machine: its CPU is not measured` };
  // redis-server sets its title to `redis-server <bind>:<port>`.
  const all = findProcesses(['redis-server']).filter((pid) => readProcess(pid) !== null);
  const onPort = all.filter((pid) => findProcesses(['redis-server', `:${port}`]).includes(pid));
  if (onPort.length === 1) return { pid: onPort[0]!, note: null };
  if (onPort.length === 0 && all.length === 1)
    return {
      pid: all[0]!,
      note: `the only redis-server process here was taken (its title names no port ${port})`,
    };
  return {
    pid: null,
    note:
      all.length === 0
        ? 'no redis-server process is visible here (another container or user?): its CPU is not measured'
        : `${all.length} redis-server processes and none clearly on port ${port}: its CPU is not measured`,
  };
}

/** Redis's version and persistence settings, read only (CONFIG GET may be disabled on a shared server). */
export async function describeRedis(url: string): Promise<Record<string, string | null>> {
  const client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  client.on('error', () => undefined);
  const config = async (key: string) => {
    try {
      const reply = await client.config('GET', key);
      return reply[1] ?? null;
    } catch {
      return null;
    }
  };
  try {
    await client.connect();
    const info = await client.info('server');
    return {
      version: /redis_version:(\S+)/.exec(info)?.[1] ?? null,
      appendonly: await config('appendonly'),
      appendfsync: await config('appendfsync'),
      save: await config('save'),
      maxmemoryPolicy: await config('maxmemory-policy'),
    };
  } catch {
    return {};
  } finally {
    client.disconnect();
  }
}

/** Deletes whatever is left under the run's prefix (obliterate leaves the queue's meta and events). */
export async function removeKeys(url: string, prefix: string): Promise<number> {
  const client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  client.on('error', () => undefined);
  let removed = 0;
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) removed += await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return removed;
}
