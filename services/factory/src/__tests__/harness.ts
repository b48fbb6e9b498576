import { createEventBus, createMetrics, factoryEvents, identityCommands } from '@waooaw/shared';
import {
  collectEvents,
  graphqlExecutor,
  testDatabase,
  testKafka,
  testLogger,
  uniqueName,
} from '@waooaw/shared/testing';
import { createServer } from '../server';

const SECRET = 'factory-test-caller-secret-at-least-32-chars';

/** The factory service on the real servers (without its catalogue), driven in process. */
export async function startFactory() {
  const db = await testDatabase('factory');
  const bus = createEventBus({ ...testKafka(), service: 'factory', logger: testLogger() });
  const server = createServer({
    config: {
      CALLER_TOKEN_SECRET: SECRET,
      NODE_ENV: 'test',
      FACTORY_LOAD_CATALOGUE: false,
      FACTORY_CATALOGUE_DIR: '',
    },
    logger: testLogger(),
    metrics: createMetrics('factory-test'),
    connection: db.connection,
    bus,
    outboxIntervalMs: 50,
    consumerGroupPrefix: `${uniqueName('t')}.`,
  });
  await server.service.start(0, '127.0.0.1');
  const collected = await collectEvents([
    identityCommands.registerAgent.topic,
    factoryEvents.buildUpdated.topic,
    factoryEvents.definitionRejected.topic,
  ]);
  return {
    ...server,
    db,
    exec: graphqlExecutor(server, SECRET),
    /** Every message of a type on the register-command and build topics so far. */
    messages: (type: string) => collected.events(type),
    async stop() {
      await server.service.stop();
      await collected.stop();
      await db.drop();
    },
  };
}
