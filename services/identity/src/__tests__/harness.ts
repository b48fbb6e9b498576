import { identityEvents } from '@waooaw/shared';
import { graphqlExecutor, startTestService, TEST_CALLER_SECRET, uniqueName } from '@waooaw/shared/testing';
import { createServer } from '../server';

/** The identity service on the real servers, driven in process with executeOperation. */
export async function startIdentity() {
  const t = await startTestService({
    name: 'identity',
    collect: Object.values(identityEvents).map((e) => e.topic),
    create: (deps) =>
      createServer({
        ...deps,
        config: {
          CALLER_TOKEN_SECRET: TEST_CALLER_SECRET,
          A2A_BASE_URL: 'http://localhost:4000',
          NODE_ENV: 'test',
        },
      }),
  });
  return {
    ...t.server,
    db: t.db,
    exec: graphqlExecutor(t.server, TEST_CALLER_SECRET),
    /** Every event of a type published so far (about one agent id, when given). */
    eventsOf: t.events,
    stop: () => t.stop(),
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
