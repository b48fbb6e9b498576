import type { Envelope, EventBus, Role } from '@waooaw/shared';
import { createEventBus, createMetrics, identityEvents, signCallerToken } from '@waooaw/shared';
import { collectTopic, testDatabase, testInfra, testLogger, uniqueName } from '@waooaw/shared/testing';
import type { IdentityDeps } from '../server';
import { createServer } from '../server';

const SECRET = 'identity-test-caller-secret-at-least-32-chars';

export interface GraphQLResult<T> {
  data?: T | null;
  errors?: { message: string; extensions: Record<string, unknown> }[];
}

/** The identity service on the real servers, driven in process with executeOperation. */
export async function startIdentity() {
  const db = await testDatabase('identity');
  const bus: EventBus = createEventBus({
    brokers: testInfra().brokers,
    service: 'identity',
    logger: testLogger(),
  });
  const config: IdentityDeps['config'] = {
    CALLER_TOKEN_SECRET: SECRET,
    A2A_BASE_URL: 'http://localhost:4000',
    NODE_ENV: 'test',
  };
  const server = createServer({
    config,
    logger: testLogger(),
    metrics: createMetrics('identity-test'),
    connection: db.connection,
    bus,
    outboxIntervalMs: 50,
    consumerGroupPrefix: `${uniqueName('t')}.`,
  });
  await server.service.start(0, '127.0.0.1');
  const topics = await Promise.all(Object.values(identityEvents).map((e) => collectTopic(e.topic)));

  async function exec<T>(
    query: string,
    variables: Record<string, unknown> = {},
    roles: Role[] | null = ['operator'],
  ): Promise<GraphQLResult<T>> {
    const headers: Record<string, string> = roles
      ? { 'x-waooaw-caller': await signCallerToken({ sub: 'op-test', roles }, SECRET) }
      : {};
    const contextValue = await server.context({ headers });
    const response = await server.graphql.executeOperation<T>({ query, variables }, { contextValue });
    if (response.body.kind !== 'single') throw new Error('expected a single result');
    return response.body.singleResult as GraphQLResult<T>;
  }

  /** Every event of a type published so far about one subject (agent id). */
  const eventsOf = (type: string, subject?: string): Envelope<Record<string, unknown>>[] =>
    topics
      .flatMap((t) => t.messages)
      .map((m) => JSON.parse(m.value!.toString()) as Envelope<Record<string, unknown>>)
      .filter((e) => e.type === type && (subject === undefined || e.subject === subject));

  return {
    ...server,
    bus,
    db,
    exec,
    eventsOf,
    async stop() {
      await server.service.stop();
      await Promise.all(topics.map((t) => t.stop()));
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
