import mongoose from 'mongoose';
import type { Connection } from 'mongoose';
import { backoffDelay, delay } from '../backoff';
import type { Logger } from '../logger';

export interface MongoOptions {
  url: string;
  /** Each service owns one database. */
  dbName: string;
  logger: Logger;
  /** Connection attempts before giving up (default 10, with backoff up to 5 s). */
  attempts?: number;
}

/**
 * Opens the service's own mongoose connection, retrying while the server is not up yet. Never sets
 * `serverApi`: mongo-java-server has no `hello` command.
 */
export async function connectMongo({
  url,
  dbName,
  logger,
  attempts = 10,
}: MongoOptions): Promise<Connection> {
  let previous = 250;
  for (let attempt = 1; ; attempt++) {
    const connection = mongoose.createConnection(url, {
      dbName,
      serverSelectionTimeoutMS: 3_000,
      autoIndex: true,
    });
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
