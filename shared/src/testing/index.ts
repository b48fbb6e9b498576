import { randomBytes } from 'node:crypto';
import type { KafkaMessage } from 'kafkajs';
import { logLevel } from 'kafkajs';
import type { Connection } from 'mongoose';
import mongoose from 'mongoose';
import type { z } from 'zod';
import { parseConfig } from '../config';
import { connectMongo } from '../mongo/connection';
import { createLogger } from '../logger';
import type { Role } from '../graphql/caller';
import type { Envelope } from '../kafka/envelope';
import { createEventBus } from '../kafka/bus';
import { newKafka } from '../kafka/client';
import { subscribeWhenReady } from '../kafka/subscribe';
import { CALLER_HEADER, signCallerToken } from '../graphql/caller';
import { namespacedGroup, namespacedTopic, namespaceSchema } from '../namespace';

/**
 * The real servers the jest global setup made available, and the run's own WAOOAW_NAMESPACE: every
 * topic, consumer group and database of the run carries it (see infra/src/testing/global-setup.ts).
 */
export function testInfra() {
  const brokers = process.env.KAFKA_BROKERS;
  const mongoUrl = process.env.MONGO_URL;
  const namespace = process.env.WAOOAW_NAMESPACE;
  if (!brokers || !mongoUrl || !namespace)
    throw new Error(
      'KAFKA_BROKERS, MONGO_URL and WAOOAW_NAMESPACE are not set: run tests through jest (global setup)',
    );
  return { brokers: brokers.split(','), mongoUrl, namespace };
}

/**
 * A namespace of its own inside the run's, `<run namespace>-<suffix>` (random unless given): for
 * tests whose services must not see the rest of the run's traffic. A service whose new consumer group
 * starts at the beginning of its topics (as a fresh platform's does) would otherwise first go through
 * everything the run's earlier test files published there, which late in a full run takes longer
 * than any test waits.
 */
export const testNamespace = (suffix = randomBytes(3).toString('hex')) =>
  namespaceSchema.parse(`${testInfra().namespace}-${suffix}`);

/** The Kafka part of createEventBus's options for a test: the test broker, in the run's namespace. */
export const testKafka = (namespace = testInfra().namespace) => ({ brokers: testInfra().brokers, namespace });

/** A name no other test (or earlier run against the same servers) uses. */
export const uniqueName = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

/** A topic of a test's own, `test.<unique name>.<action>`, in the characters topic names take here. */
export const uniqueTopic = (prefix: string, action: string) =>
  `test.${uniqueName(prefix).replace(/[^a-z0-9-]/g, '')}.${action}`;

/** The caller-token secret of the services tests start (the config wants 32 characters or more). */
export const TEST_CALLER_SECRET = 'test-caller-secret-at-least-32-characters';

/**
 * A service's configuration in a test: its environment's defaults, NODE_ENV=test, the tests' caller
 * secret, and `values` (strings, as the environment would give them).
 */
export const testConfig = <S extends z.ZodType>(schema: S, values: Record<string, string> = {}) =>
  parseConfig(schema, { CALLER_TOKEN_SECRET: TEST_CALLER_SECRET, NODE_ENV: 'test', ...values });

export const testLogger = () => createLogger('test', process.env.TEST_LOG_LEVEL ?? 'silent');

/**
 * An event bus on the test broker, connected, with a connected admin beside it: for tests of the bus
 * and its consumers. `close()` disconnects both.
 */
export async function connectTestBus(service: string) {
  const bus = createEventBus({ ...testKafka(), service, logger: testLogger() });
  await bus.connect();
  const admin = bus.kafka.admin();
  await admin.connect();
  return {
    bus,
    admin,
    close: async () => {
      await admin.disconnect();
      await bus.disconnect();
    },
  };
}

/**
 * Re-evaluates `check` until it returns a value other than undefined/false, or fails after
 * `timeoutMs` with the last error. For eventually consistent results, instead of sleeping.
 */
export async function pollFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  {
    timeoutMs = 20_000,
    intervalMs = 50,
    what = 'condition',
  }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A test's database and how to drop it (see testDatabase). */
export interface TestDatabase {
  connection: Connection;
  /** Its name before the namespace (see testDatabase). */
  name: string;
  drop: () => Promise<void>;
}

/**
 * A fresh database in the run's namespace (or the one given), on the test server or on `mongoUrl` (a
 * server the test started itself); dropped by the returned cleanup. `name` is its name before the
 * namespace: what a process started with the same WAOOAW_NAMESPACE is told (e.g. ORCHESTRATION_DB);
 * `connection.name` is the full one.
 */
export async function testDatabase(
  prefix = 'test',
  namespace = testInfra().namespace,
  mongoUrl = testInfra().mongoUrl,
): Promise<TestDatabase> {
  return openTestDatabase(uniqueName(prefix), namespace, mongoUrl);
}

/**
 * The database `name` (before the namespace) as testDatabase opens it: a new one, or the one a
 * stopped service left (its `db.name`), to start the service again on its data.
 */
export async function openTestDatabase(
  name: string,
  namespace = testInfra().namespace,
  mongoUrl = testInfra().mongoUrl,
): Promise<TestDatabase> {
  const connection = await connectMongo({ url: mongoUrl, dbName: name, namespace, logger: testLogger() });
  const dbName = connection.name;
  return {
    connection,
    name,
    drop: async () => {
      // A service under test closes its connection when it stops; a command on a closed connection
      // would wait for mongoose's 10 s buffer timeout, so drop through a connection of our own.
      const open = connection.readyState === mongoose.ConnectionStates.connected;
      const target = open ? connection : await mongoose.createConnection(mongoUrl, { dbName }).asPromise();
      await target.dropDatabase();
      await target.close();
      if (!open) await connection.close();
    },
  };
}

/**
 * Reads every message of a (logical) topic from the beginning, in the run's namespace or the one
 * given, into an array that keeps filling. `caughtUp()` resolves once it holds every message the
 * topic had when it was called, in every partition: the barrier for "nothing (more) was published".
 */
export async function collectTopic(
  logical: string,
  namespace = testInfra().namespace,
): Promise<{ messages: KafkaMessage[]; caughtUp: () => Promise<void>; stop: () => Promise<void> }> {
  const topic = namespacedTopic(namespace, logical);
  const kafka = newKafka({
    clientId: 'test-collector',
    brokers: testInfra().brokers,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  if (!(await admin.listTopics()).includes(topic)) {
    await admin
      .createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true })
      .catch(() => undefined);
  }
  await admin.disconnect();
  // A short fetch wait: stopping a collector waits for its fetch in flight.
  const consumer = kafka.consumer({
    groupId: namespacedGroup(namespace, uniqueName('collector')),
    maxWaitTimeInMs: 250,
  });
  const messages: KafkaMessage[] = [];
  /** Per partition, the offset after the last message read. */
  const read = new Map<number, number>();
  await consumer.connect();
  await subscribeWhenReady(consumer, topic, true);
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      messages.push(message);
      read.set(partition, Number(message.offset) + 1);
    },
  });
  const caughtUp = async () => {
    const admin = kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
    await pollFor(
      () =>
        ends.every(
          (end) => Number(end.high) === Number(end.low) || (read.get(end.partition) ?? 0) >= Number(end.high),
        ),
      { what: `the collector of ${logical} to read what the topic holds` },
    );
  };
  return { messages, caughtUp, stop: () => consumer.disconnect() };
}

export interface GraphQLResult<T> {
  data?: T | null;
  errors?: { message: string; path?: readonly (string | number)[]; extensions: Record<string, unknown> }[];
}

/** What a subgraph's createServer returns that tests drive in process. */
export interface InProcessSubgraph<C> {
  /** Its service, named as the subgraph (the audience of the caller tokens it accepts). */
  service: { name: string };
  graphql: {
    executeOperation(
      request: { query: string; variables: Record<string, unknown> },
      options: { contextValue: C },
    ): Promise<{ body: unknown }>;
  };
  context(req: { headers: Record<string, string | undefined> }): Promise<C>;
}

/**
 * Runs operations against a subgraph in process (executeOperation), as a caller with the given roles
 * (forwarded the way the gateway does) or anonymously with `null`.
 */
export function graphqlExecutor<C>(server: InProcessSubgraph<C>, callerSecret: string, sub = 'op-test') {
  return async <T>(
    query: string,
    variables: Record<string, unknown> = {},
    roles: Role[] | null = ['operator'],
  ): Promise<GraphQLResult<T>> => {
    // Like the gateway, forward every caller, anonymous ones too.
    const headers = {
      [CALLER_HEADER]: await signCallerToken(
        roles ? { sub, roles } : null,
        callerSecret,
        server.service.name,
      ),
    };
    const response = (await server.graphql.executeOperation(
      { query, variables },
      { contextValue: await server.context({ headers }) },
    )) as {
      body: { kind: string; singleResult?: GraphQLResult<T> };
    };
    if (response.body.kind !== 'single' || !response.body.singleResult)
      throw new Error('expected a single GraphQL result');
    return response.body.singleResult;
  };
}

/** Collects CloudEvents from several topics; `events(type, subject?)` reads what arrived so far. */
export async function collectEvents(topics: string[], namespace = testInfra().namespace) {
  const collectors = await Promise.all([...new Set(topics)].map((t) => collectTopic(t, namespace)));
  return {
    events: (type: string, subject?: string): Envelope<Record<string, unknown>>[] =>
      collectors
        .flatMap((c) => c.messages)
        .map((m) => JSON.parse(m.value!.toString()) as Envelope<Record<string, unknown>>)
        .filter((e) => e.type === type && (subject === undefined || e.subject === subject)),
    /** Every event the topics held when called has been collected (see collectTopic). */
    caughtUp: () => Promise.all(collectors.map((c) => c.caughtUp())).then(() => undefined),
    stop: () => Promise.all(collectors.map((c) => c.stop())).then(() => undefined),
  };
}

/** A clock the test sets and moves; it stands still in between, so times are exact. */
export function testClock(start = new Date()) {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance(ms: number) {
      now += ms;
    },
    set(at: Date) {
      now = at.getTime();
    },
  };
}
export type TestClock = ReturnType<typeof testClock>;

export * from './service';
export * from './otlp-receiver';
