import { createEventBus, createMetrics, identityEvents } from '@waooaw/shared';
import {
  collectEvents,
  graphqlExecutor,
  testDatabase,
  testKafka,
  testLogger,
  uniqueName,
} from '@waooaw/shared/testing';
import { createServer } from '../server';

const SECRET = 'identity-test-caller-secret-at-least-32-chars';

/** The identity service on the real servers, driven in process with executeOperation. */
export async function startIdentity() {
  const db = await testDatabase('identity');
  const bus = createEventBus({ ...testKafka(), service: 'identity', logger: testLogger() });
  const server = createServer({
    config: { CALLER_TOKEN_SECRET: SECRET, A2A_BASE_URL: 'http://localhost:4000', NODE_ENV: 'test' },
    logger: testLogger(),
    metrics: createMetrics('identity-test'),
    connection: db.connection,
    bus,
    outboxIntervalMs: 50,
    consumerGroupPrefix: `${uniqueName('t')}.`,
  });
  await server.service.start(0, '127.0.0.1');
  const collected = await collectEvents(Object.values(identityEvents).map((e) => e.topic));
  return {
    ...server,
    db,
    exec: graphqlExecutor(server, SECRET),
    /** Every event of a type published so far (about one agent id, when given). */
    eventsOf: collected.events,
    async stop() {
      await server.service.stop();
      await collected.stop();
      await db.drop();
    },
  };
}

export function agentInput(overrides: Record<string, unknown> = {}) {
  const handle = uniqueName('wow-test').toLowerCase();
  return {
    handle,
    name: `Test ${handle}`,
    description: 'An agent registered by the identity tests.',
    version: '1.0.0',
    kind: 'CUSTOMER',
    category: 'MARKETING',
    specialization: 'Content marketing for clinics',
    industries: ['healthcare'],
    tier: 'STANDARD',
    tags: ['content', 'healthcare'],
    metadata: { source: 'test' },
    capabilities: [
      {
        name: 'content.write-article',
        version: '1.2.0',
        description: 'Writes an article',
        inputModes: ['application/json'],
        outputModes: ['text/markdown'],
        examples: ['A blog post on diabetes care'],
      },
    ],
    ...overrides,
  };
}

export const AGENT_FIELDS = `id handle name version kind category status tags metadata
  capabilities { name version description inputModes outputModes examples tags }
  history { from to actor reason }`;
