import type { EventBus } from '../kafka/bus';
import { createEventBus } from '../kafka/bus';
import { createMetrics } from '../metrics';
import { connectMongo } from '../mongo/connection';
import type { Service } from '../service';
import type { SubgraphDeps } from '../service/subgraph';
import {
  collectEvents,
  openTestDatabase,
  testDatabase,
  testInfra,
  testKafka,
  testLogger,
  uniqueName,
} from './index';

/** What a test gives a subgraph's createServer besides its config (see SubgraphDeps). */
export type TestServiceDeps = Omit<SubgraphDeps, 'config'>;

/** What a subgraph's createServer returns that startTestService needs. */
export interface TestableServer {
  service: Service;
  /** Its consumers, where it exposes them: a test may wait for them to join (see startTestService). */
  consumers?: readonly { joined(): Promise<void> }[];
}

export interface TestServiceOptions<S extends TestableServer> {
  /** The service's name: its bus's, its database's prefix, its metrics' (`<name>-test`). */
  name: string;
  /** Builds one process of the service; again, on a connection of its own, for another() and restart(). */
  create: (deps: TestServiceDeps) => S;
  /** The topics whose events the test reads (`events`). */
  collect?: string[];
  /**
   * WAOOAW_NAMESPACE of its topics, groups and database; default: the run's. testNamespace() gives
   * a service that must not see the rest of the run's traffic a namespace of its own.
   */
  namespace?: string;
  /** Its MongoDB server; default: the run's (a chaos test gives one it can freeze or kill). */
  mongoUrl?: string;
  /** Default: a prefix of its own, so its groups are new and no other test's process joins them. */
  consumerGroupPrefix?: string;
  /**
   * deps.fromBeginning. Given false (its new groups start at the end of their topics), the first
   * process's consumers have joined before startTestService returns: kafkajs places a new group at
   * the end only when it first fetches, so an event published before that would be skipped.
   */
  fromBeginning?: boolean;
  /** Start on this database (an earlier harness's `db.name`, its service stopped) instead of a new one. */
  database?: string;
}

/**
 * One subgraph service on the test servers, started in process (port 0, 127.0.0.1), as every
 * service's harness and the platform tests start theirs: its own database and consumer groups, the
 * outbox polled every 50 ms, the events of `collect` read as they come, and an `outside` bus standing
 * in for the services it talks to over Kafka. `stop()` stops it and drops its database.
 */
export async function startTestService<S extends TestableServer>(options: TestServiceOptions<S>) {
  const { name, namespace = testInfra().namespace, mongoUrl = testInfra().mongoUrl } = options;
  const db = options.database
    ? await openTestDatabase(options.database, namespace, mongoUrl)
    : await testDatabase(name, namespace, mongoUrl);
  const prefix = options.consumerGroupPrefix ?? `${uniqueName('t')}.`;
  const build = (connection: TestServiceDeps['connection']) =>
    options.create({
      logger: testLogger(),
      metrics: createMetrics(`${name}-test`),
      connection,
      bus: createEventBus({ ...testKafka(namespace), service: name, logger: testLogger() }),
      outboxIntervalMs: 50,
      consumerGroupPrefix: prefix,
      ...(options.fromBeginning === undefined ? {} : { fromBeginning: options.fromBeginning }),
    });
  /** Each process's base URL. */
  const urls = new WeakMap<S, string>();
  const start = async (server: S, joined: boolean) => {
    urls.set(server, await server.service.start(0, '127.0.0.1'));
    if (joined) await Promise.all((server.consumers ?? []).map((c) => c.joined()));
    return server;
  };

  let current = await start(build(db.connection), options.fromBeginning === false);
  const collected = await collectEvents(options.collect ?? [], namespace);
  const outside: EventBus = createEventBus({
    ...testKafka(namespace),
    service: 'test',
    logger: testLogger(),
  });

  /**
   * Starts one more process of the service beside the current one (same database, same groups: a
   * rolling restart's new process), its consumers joined, so the test sees the partitions shared out.
   */
  const another = async () => {
    const connection = await connectMongo({
      url: mongoUrl,
      dbName: db.name,
      namespace,
      logger: testLogger(),
    });
    return start(build(connection), true);
  };

  return {
    /** The current process (restart() and handOver() replace it). */
    get server() {
      return current;
    },
    /** The current process's base URL. */
    get url() {
      return urls.get(current)!;
    },
    db,
    namespace,
    prefix,
    outside,
    /** Every event of a type collected so far (about one subject, when given). */
    events: collected.events,
    another,
    /** Stops the current process, then starts a new one on the same database, as a redeploy would. */
    async restart() {
      await current.service.stop();
      current = await another();
    },
    /** Stops the current process; `next` (from another()) becomes the current one. */
    async handOver(next: S) {
      await current.service.stop();
      current = next;
    },
    /** Stops the service; its database is dropped unless `keepData` (for a `database` harness). */
    async stop({ keepData = false }: { keepData?: boolean } = {}) {
      await current.service.stop();
      await outside.disconnect();
      await collected.stop();
      if (!keepData) await db.drop();
    },
  };
}

export type TestService<S extends TestableServer> = Awaited<ReturnType<typeof startTestService<S>>>;
