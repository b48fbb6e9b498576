import mongoose from 'mongoose';
import type { Connection } from 'mongoose';
import { backoffDelay, delay } from '../backoff';
import type { Logger } from '../logger';
import { namespacedDb } from '../namespace';

export interface MongoOptions {
  url: string;
  /** Each service owns one database. */
  dbName: string;
  /**
   * WAOOAW_NAMESPACE: the database used is `<namespace>_<dbName>` (see shared/src/namespace.ts), so
   * platforms sharing a server keep apart. Leave it out when `dbName` is already a full name (one
   * read back from an open connection's `name`).
   */
  namespace?: string;
  logger: Logger;
  /** Connection attempts before giving up (default 10, with backoff up to 5 s). */
  attempts?: number;
  /** Log the period's slowest commands every this many ms (MONGO_COMMAND_STATS_MS); 0: off. */
  commandStatsMs?: number;
}

/**
 * Opens the service's own mongoose connection, retrying while the server is not up yet. Never sets
 * `serverApi`: mongo-java-server has no `hello` command.
 */
export async function connectMongo({
  url,
  dbName: logicalDbName,
  namespace = '',
  logger,
  attempts = 10,
  commandStatsMs = 0,
}: MongoOptions): Promise<Connection> {
  const dbName = namespacedDb(namespace, logicalDbName);
  let previous = 250;
  for (let attempt = 1; ; attempt++) {
    const connection = mongoose.createConnection(url, {
      dbName,
      serverSelectionTimeoutMS: 3_000,
      autoIndex: true,
      ...(commandStatsMs > 0 ? { monitorCommands: true } : {}),
    });
    if (commandStatsMs > 0) watchCommands(connection, logger, commandStatsMs);
    try {
      await connection.asPromise();
      logger.info({ dbName }, 'connected to MongoDB');
      return connection;
    } catch (err) {
      await connection.close().catch(() => undefined);
      if (attempt >= attempts) {
        throw new Error(
          `could not connect to MongoDB at ${url} after ${attempts} attempts: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      previous = backoffDelay(
        attempt,
        { initialMs: 250, maxMs: 5_000, multiplier: 2, jitter: 'EQUAL' },
        previous,
      );
      logger.warn(
        { attempt, retryInMs: previous, error: (err as Error).message },
        'MongoDB not reachable yet; retrying',
      );
      await delay(previous);
    }
  }
}

/** True while the connection is open (readiness). */
export const mongoReady = (connection: Connection) =>
  connection.readyState === mongoose.ConnectionStates.connected;

/** What a command's filter names: its kind, collection and filter fields, e.g. `update tasks _id,rev`. */
function commandKey(name: string, command: Record<string, unknown>): string {
  const collection = typeof command[name] === 'string' ? command[name] : '';
  let filter: unknown;
  if (name === 'update' || name === 'delete')
    filter = (command[name === 'update' ? 'updates' : 'deletes'] as { q?: unknown }[] | undefined)?.[0]?.q;
  else if (name === 'find' || name === 'count') filter = command.filter ?? command.query;
  else if (name === 'findAndModify') filter = command.query;
  const fields = filter && typeof filter === 'object' ? Object.keys(filter).join(',') : '';
  return `${name} ${collection}${fields ? ` ${fields}` : ''}`;
}

/** Times every command and logs the period's costliest kinds (see MONGO_COMMAND_STATS_MS). */
function watchCommands(connection: Connection, logger: Logger, everyMs: number) {
  const started = new Map<number, { key: string; at: number }>();
  let stats = new Map<string, { n: number; ms: number; max: number }>();
  const client = connection.getClient();
  client.on('commandStarted', (e) =>
    started.set(e.requestId, {
      key: commandKey(e.commandName, e.command as Record<string, unknown>),
      at: performance.now(),
    }),
  );
  const done = (e: { requestId: number }) => {
    const start = started.get(e.requestId);
    if (!start) return;
    started.delete(e.requestId);
    const ms = performance.now() - start.at;
    const entry = stats.get(start.key) ?? { n: 0, ms: 0, max: 0 };
    entry.n++;
    entry.ms += ms;
    entry.max = Math.max(entry.max, ms);
    stats.set(start.key, entry);
  };
  client.on('commandSucceeded', done);
  client.on('commandFailed', done);
  const timer = setInterval(() => {
    const period = stats;
    stats = new Map();
    if (period.size === 0) return;
    const rows = [...period]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, 12)
      .map(([key, v]) => `${key}: n=${v.n} avg=${(v.ms / v.n).toFixed(1)}ms max=${v.max.toFixed(0)}ms`);
    logger.warn({ everyMs, rows }, 'MongoDB commands of the period, costliest first');
  }, everyMs);
  timer.unref();
  connection.on('close', () => clearInterval(timer));
}
