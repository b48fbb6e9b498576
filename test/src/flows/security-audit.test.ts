import { randomUUID } from 'node:crypto';
import { pollFor, testDatabase, uniqueName } from '@waooaw/shared/testing';
import type { GraphQLResponse } from '../gateway';
import { startTestGateway, tokenFor } from '../gateway';
import { startIdentityAndFactory } from '../platform';

interface Entry {
  mutation: string;
  responseKey: string;
  arguments: Record<string, unknown>;
  outcome: string;
  errorCodes: string[];
  actor: string;
  completedAt: string | null;
}

const AUDIT = `query($f: AuditFilter) { auditLog(filter: $f, first: 100) { edges { node {
  mutation responseKey arguments outcome errorCodes actor completedAt } } } }`;

const agentInput = (handle: string) => ({
  handle,
  name: 'Audited agent',
  description: 'An agent registered by the audit tests',
  version: '1.0.0',
  kind: 'CUSTOMER',
  category: 'MARKETING',
  specialization: 'auditing',
  tier: 'BUDGET',
  capabilities: [{ name: 'audit.record', version: '1.0.0', description: 'is audited' }],
});

describe('the audit log records every mutation, always', () => {
  let platform: Awaited<ReturnType<typeof startIdentityAndFactory>>;
  let gatewayDb: Awaited<ReturnType<typeof testDatabase>>;
  let gateway: Awaited<ReturnType<typeof startTestGateway>>;

  beforeAll(async () => {
    platform = await startIdentityAndFactory();
    gatewayDb = await testDatabase('gateway-audit');
    gateway = await startTestGateway({
      urls: platform.urls,
      callerSecret: platform.secret,
      connection: gatewayDb.connection,
    });
  });
  afterAll(async () => {
    await gateway.service.stop();
    await gatewayDb.drop();
    await platform.stop();
  });

  /** POSTs as a client with its own request id, so the request's audit entries can be found. */
  async function post<T>(
    endpoint: string,
    query: string,
    variables: Record<string, unknown>,
    token: string,
    requestId = randomUUID(),
  ): Promise<GraphQLResponse<T>> {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        'x-request-id': requestId,
      },
      body: JSON.stringify({ query, variables }),
    });
    return { status: res.status, body: (await res.json()) as GraphQLResponse<T>['body'] };
  }

  async function entriesOf(requestId: string): Promise<Entry[]> {
    const admin = await tokenFor(['admin'], 'auditor');
    const page = await post<{ auditLog: { edges: { node: Entry }[] } }>(
      gateway.httpUrl,
      AUDIT,
      { f: { requestId } },
      admin,
    );
    expect(page.body.errors).toBeUndefined();
    return page.body
      .data!.auditLog.edges.map((e) => e.node)
      .sort((a, b) => a.responseKey.localeCompare(b.responseKey));
  }

  const agentByHandle = async (handle: string) =>
    (
      await platform.identity.exec<{ agentByHandle: { id: string } | null }>(
        `query($h: String!) { agentByHandle(handle: $h) { id } }`,
        { h: handle },
      )
    ).data?.agentByHandle;

  it('one entry per mutation field, with its resolved arguments: inline ones and fragments included', async () => {
    const [a, b] = [uniqueName('audit-a').toLowerCase(), uniqueName('audit-b').toLowerCase()];
    const requestId = randomUUID();
    const response = await post(
      gateway.httpUrl,
      `mutation Onboard($input: RegisterAgentInput!) {
        first: registerAgent(input: { handle: "${a}", name: "Inline agent", description: "Registered from literals",
          version: "1.0.0", kind: CUSTOMER, category: MARKETING, specialization: "inline", tier: BUDGET,
          metadata: { apiToken: "s3cret", note: "kept" },
          capabilities: [{ name: "audit.inline", version: "1.0.0", description: "inline capability" }] }) { id }
        ...Second
        ... on Mutation { third: transitionAgentLifecycle(id: "no-such-agent", to: ACTIVE, reason: "why not") { id } }
      }
      fragment Second on Mutation { second: registerAgent(input: $input) { id } }`,
      { input: agentInput(b) },
      await tokenFor(['operator'], 'ops-audit'),
      requestId,
    );
    // `third` fails (and, being non-null, nulls `data`); the other two ran.
    expect(response.body.errors?.map((e) => [e.path?.[0], e.extensions.code])).toEqual([
      ['third', 'NOT_FOUND'],
    ]);
    expect(await agentByHandle(a)).toBeTruthy();
    expect(await agentByHandle(b)).toBeTruthy();

    const entries = await entriesOf(requestId);
    expect(entries).toHaveLength(3);
    const [first, second, third] = entries as [Entry, Entry, Entry];
    expect(first).toMatchObject({
      mutation: 'registerAgent',
      responseKey: 'first',
      actor: 'ops-audit',
      outcome: 'SUCCEEDED',
      errorCodes: [],
      arguments: { input: { handle: a, tier: 'BUDGET', metadata: { apiToken: '[redacted]', note: 'kept' } } },
    });
    expect(first.completedAt).not.toBeNull();
    expect(second).toMatchObject({
      mutation: 'registerAgent',
      responseKey: 'second',
      outcome: 'SUCCEEDED',
      arguments: { input: { handle: b, capabilities: [{ name: 'audit.record' }] } },
    });
    expect(third).toMatchObject({
      mutation: 'transitionAgentLifecycle',
      responseKey: 'third',
      outcome: 'FAILED',
      errorCodes: ['NOT_FOUND'],
      arguments: { id: 'no-such-agent', to: 'ACTIVE', reason: 'why not' },
    });
  });

  it('3,000-level JSON variables get a typed answer and an audit entry, the depth cut short', async () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 3000; i++) deep = { down: deep };
    const handle = uniqueName('audit-deep').toLowerCase();
    const requestId = randomUUID();
    const response = await post(
      gateway.httpUrl,
      `mutation($input: RegisterAgentInput!) { registerAgent(input: $input) { id } }`,
      { input: { ...agentInput(handle), metadata: deep } },
      await tokenFor(['operator'], 'ops-deep'),
      requestId,
    );
    // The gateway refuses such variables itself (MAX_VARIABLE_DEPTH) before anything runs.
    expect(response.status).toBe(400);
    expect(response.body.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');

    const [entry] = await entriesOf(requestId);
    expect(entry).toMatchObject({ mutation: 'registerAgent', actor: 'ops-deep' });
    expect(entry!.outcome).not.toBe('PENDING');
    // Followed down to the cap, then a marker instead of the rest.
    let level = (entry!.arguments.input as { metadata: unknown }).metadata;
    let depth = 0;
    while (typeof level === 'object' && level !== null) {
      level = (level as { down: unknown }).down;
      depth++;
    }
    expect(level).toMatch(/^\[nested deeper than \d+ levels\]$/);
    expect(depth).toBeGreaterThan(10);
  });

  it('refuses the mutation, which does not run, when its audit entry cannot be written', async () => {
    // A gateway whose audit database connection is gone: a real write failure, nothing mocked.
    const brokenDb = await testDatabase('gateway-audit-down');
    const broken = await startTestGateway({
      urls: platform.urls,
      callerSecret: platform.secret,
      connection: brokenDb.connection,
    });
    try {
      await brokenDb.connection.close();
      const handle = uniqueName('audit-refused').toLowerCase();
      const response = await post(
        broken.httpUrl,
        `mutation($input: RegisterAgentInput!) { registerAgent(input: $input) { id } }`,
        { input: agentInput(handle) },
        await tokenFor(['operator'], 'ops-unaudited'),
      );
      expect(response.status).toBe(503);
      expect(response.body.errors?.[0]?.extensions.code).toBe('AUDIT_UNAVAILABLE');
      expect(response.body.data).toBeUndefined();

      // The same mutation through the healthy gateway does run: so it was the audit that stopped it.
      const control = uniqueName('audit-control').toLowerCase();
      await post(
        gateway.httpUrl,
        `mutation($input: RegisterAgentInput!) { registerAgent(input: $input) { id } }`,
        { input: agentInput(control) },
        await tokenFor(['operator'], 'ops-unaudited'),
      );
      await pollFor(() => agentByHandle(control), { what: 'the audited agent to exist' });
      expect(await agentByHandle(handle)).toBeNull();
    } finally {
      await broken.service.stop();
      await brokenDb.drop();
    }
  });
});
