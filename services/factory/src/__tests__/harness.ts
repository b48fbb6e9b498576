import type { Envelope, EventBus, Role } from '@waooaw/shared';
import {
  createEventBus,
  createMetrics,
  factoryEvents,
  identityCommands,
  signCallerToken,
} from '@waooaw/shared';
import { collectTopic, testDatabase, testInfra, testLogger, uniqueName } from '@waooaw/shared/testing';
import type { FactoryDeps } from '../server';
import { createServer } from '../server';

const SECRET = 'factory-test-caller-secret-at-least-32-chars';

export interface GraphQLResult<T> {
  data?: T | null;
  errors?: { message: string; extensions: Record<string, unknown> }[];
}

export async function startFactory() {
  const db = await testDatabase('factory');
  const bus: EventBus = createEventBus({
    brokers: testInfra().brokers,
    service: 'factory',
    logger: testLogger(),
  });
  const config: FactoryDeps['config'] = {
    CALLER_TOKEN_SECRET: SECRET,
    NODE_ENV: 'test',
    FACTORY_LOAD_CATALOGUE: false,
    FACTORY_CATALOGUE_DIR: '',
  };
  const server = createServer({
    config,
    logger: testLogger(),
    metrics: createMetrics('factory-test'),
    connection: db.connection,
    bus,
    outboxIntervalMs: 50,
    consumerGroupPrefix: `${uniqueName('t')}.`,
  });
  await server.service.start(0, '127.0.0.1');
  const topics = await Promise.all(
    [
      identityCommands.registerAgent.topic,
      factoryEvents.buildUpdated.topic,
      factoryEvents.definitionRejected.topic,
    ].map((t) => collectTopic(t)),
  );

  async function exec<T>(
    query: string,
    variables: Record<string, unknown> = {},
    roles: Role[] | null = ['operator'],
  ): Promise<GraphQLResult<T>> {
    const headers: Record<string, string> = roles
      ? { 'x-waooaw-caller': await signCallerToken({ sub: 'op-test', roles }, SECRET) }
      : {};
    const response = await server.graphql.executeOperation<T>(
      { query, variables },
      { contextValue: await server.context({ headers }) },
    );
    if (response.body.kind !== 'single') throw new Error('expected a single result');
    return response.body.singleResult as GraphQLResult<T>;
  }

  const messages = (type: string): Envelope<Record<string, unknown>>[] =>
    topics
      .flatMap((t) => t.messages)
      .map((m) => JSON.parse(m.value!.toString()) as Envelope<Record<string, unknown>>)
      .filter((e) => e.type === type);

  return {
    ...server,
    bus,
    db,
    exec,
    messages,
    async stop() {
      await server.service.stop();
      await Promise.all(topics.map((t) => t.stop()));
      await db.drop();
    },
  };
}
