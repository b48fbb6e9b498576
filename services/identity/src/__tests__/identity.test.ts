import { InputLimits } from '@waooaw/shared';
import { pollFor } from '@waooaw/shared/testing';
import { AGENT_FIELDS, agentInput, startIdentity } from './harness';

interface AgentView {
  id: string;
  handle: string;
  status: string;
  version: string;
  capabilities: { name: string; version: string }[];
  history: { from: string | null; to: string; actor: string; reason: string }[];
}

const REGISTER = `mutation($input: RegisterAgentInput!) { registerAgent(input: $input) { ${AGENT_FIELDS} } }`;
const TRANSITION = `mutation($id: ID!, $to: LifecycleStatus!, $reason: String!) {
  transitionAgentLifecycle(id: $id, to: $to, reason: $reason) { id status history { from to actor reason } } }`;

describe('identity subgraph', () => {
  let identity: Awaited<ReturnType<typeof startIdentity>>;
  beforeAll(async () => {
    identity = await startIdentity();
  });
  afterAll(() => identity.stop());

  const register = async (overrides: Record<string, unknown> = {}) => {
    const result = await identity.exec<{ registerAgent: AgentView }>(REGISTER, {
      input: agentInput(overrides),
    });
    expect(result.errors).toBeUndefined();
    return result.data!.registerAgent;
  };

  it('registers an agent in DRAFT, readable by id and handle, and announces it through the outbox', async () => {
    const agent = await register();
    expect(agent).toMatchObject({
      status: 'DRAFT',
      version: '1.0.0',
      kind: 'CUSTOMER',
      capabilities: [{ name: 'content.write-article', version: '1.2.0' }],
    });
    expect(agent.history).toEqual([{ from: null, to: 'DRAFT', actor: 'op-test', reason: 'registered' }]);

    const byId = await identity.exec<{ agent: AgentView }>(`query($id: ID!) { agent(id: $id) { handle } }`, {
      id: agent.id,
    });
    expect(byId.data?.agent.handle).toBe(agent.handle);
    const byHandle = await identity.exec<{ agentByHandle: AgentView }>(
      `query($h: String!) { agentByHandle(handle: $h) { id } }`,
      { h: agent.handle },
    );
    expect(byHandle.data?.agentByHandle.id).toBe(agent.id);
    // Many at once, in the order asked, null for an unknown id; bounded.
    const many = await identity.exec<{ agentsByIds: (AgentView | null)[] }>(
      `query($ids: [ID!]!) { agentsByIds(ids: $ids) { id handle } }`,
      { ids: ['no-such-agent', agent.id, agent.id] },
    );
    expect(many.errors).toBeUndefined();
    expect(many.data?.agentsByIds).toEqual([
      null,
      { id: agent.id, handle: agent.handle },
      { id: agent.id, handle: agent.handle },
    ]);
    const tooMany = await identity.exec(`query($ids: [ID!]!) { agentsByIds(ids: $ids) { id } }`, {
      ids: Array.from({ length: 101 }, (_, i) => `a-${i}`),
    });
    expect(tooMany.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
    expect(tooMany.errors?.[0]?.message).toMatch(/at most 100 ids/);

    const [event] = await pollFor(
      () =>
        identity.eventsOf('identity.agent.registered', agent.id).length === 1 &&
        identity.eventsOf('identity.agent.registered', agent.id),
    );
    expect(event!.data).toMatchObject({
      agentId: agent.id,
      handle: agent.handle,
      outcome: 'CREATED',
      status: 'DRAFT',
    });
    await pollFor(
      async () => ((await identity.agents.findById(agent.id).lean())!.outbox.length === 0 ? true : undefined),
      { what: 'the outbox to drain' },
    );
  });

  it('walks the lifecycle, keeps every transition, and refuses a forbidden one without changing anything', async () => {
    const agent = await register();
    for (const to of ['PROVISIONED', 'ACTIVE']) {
      const moved = await identity.exec<{ transitionAgentLifecycle: AgentView }>(TRANSITION, {
        id: agent.id,
        to,
        reason: `go ${to}`,
      });
      expect(moved.data?.transitionAgentLifecycle.status).toBe(to);
    }
    const refused = await identity.exec<{ transitionAgentLifecycle: AgentView }>(TRANSITION, {
      id: agent.id,
      to: 'RETIRED',
      reason: 'too soon',
    });
    expect(refused.errors?.[0]?.extensions).toMatchObject({
      code: 'INVALID_LIFECYCLE_TRANSITION',
      from: 'ACTIVE',
      to: 'RETIRED',
      allowed: ['SUSPENDED'],
    });
    expect(refused.errors?.[0]?.message).toBe(
      'An agent in ACTIVE cannot move to RETIRED; allowed: SUSPENDED',
    );

    const after = await identity.exec<{ agent: AgentView }>(
      `query($id: ID!) { agent(id: $id) { status history { from to actor reason } } }`,
      { id: agent.id },
    );
    expect(after.data?.agent.status).toBe('ACTIVE');
    expect(after.data?.agent.history.map((h) => h.to)).toEqual(['DRAFT', 'PROVISIONED', 'ACTIVE']);
    expect(after.data?.agent.history[2]).toEqual({
      from: 'PROVISIONED',
      to: 'ACTIVE',
      actor: 'op-test',
      reason: 'go ACTIVE',
    });

    const changes = await pollFor(() => {
      const events = identity.eventsOf('identity.agent.lifecycle-changed', agent.id);
      return events.length === 2 && events;
    });
    expect(changes.map((e) => [e.data.from, e.data.to])).toEqual([
      ['DRAFT', 'PROVISIONED'],
      ['PROVISIONED', 'ACTIVE'],
    ]);
  });

  it('returns stable codes for bad input and changes nothing', async () => {
    const agent = await register();
    // Count only what this test's inputs could create: other test files' registration commands
    // reach this identity through the shared Kafka at any time.
    const attempted: string[] = [agent.handle];
    const input = (overrides: Record<string, unknown> = {}) => {
      const i = agentInput(overrides);
      attempted.push(i.handle);
      return i;
    };

    const duplicate = await identity.exec(REGISTER, { input: agentInput({ handle: agent.handle }) });
    expect(duplicate.errors?.[0]?.extensions.code).toBe('CONFLICT');
    expect(duplicate.errors?.[0]?.message).toContain(agent.handle);

    const badSemver = await identity.exec(REGISTER, {
      input: input({
        capabilities: [{ name: 'content.write-article', version: '1.2', description: 'Writes an article' }],
      }),
    });
    expect(badSemver.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      fields: { 'capabilities.0.version': 'not a semver version (expected e.g. 1.2.0)' },
    });

    const unknown = await identity.exec(TRANSITION, { id: 'no-such-agent', to: 'PROVISIONED', reason: 'x' });
    expect(unknown.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
    expect(
      (await identity.exec<{ agent: null }>(`{ agent(id: "no-such-agent") { id } }`)).data?.agent,
    ).toBeNull();

    const customer = await identity.exec(REGISTER, { input: input() }, ['customer']);
    expect(customer.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    const anonymous = await identity.exec(REGISTER, { input: input() }, null);
    expect(anonymous.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');

    const badRange = await identity.exec(
      `{ agents(filter: { capability: { name: "x.y", versionRange: "banana" } }) { totalCount } }`,
    );
    expect(badRange.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');

    expect(await identity.agents.countDocuments({ handle: { $in: attempted } })).toBe(1);
    expect((await identity.agents.findById(agent.id).lean())!.status).toBe('DRAFT');
  });

  it('refuses metadata over its size limit with BAD_USER_INPUT naming the limit, and accepts metadata at the limit', async () => {
    const limit = InputLimits.metadataBytes;
    // {"notes":"..."}: 12 bytes around the notes.
    const metadata = (bytes: number) => ({ notes: 'm'.repeat(bytes - 12) });
    const over = await identity.exec(REGISTER, { input: agentInput({ metadata: metadata(limit + 1) }) });
    expect(over.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.metadata',
      maxBytes: limit,
      bytes: limit + 1,
    });
    expect(over.errors?.[0]?.message).toMatch(/input\.metadata is \d+ bytes, over the limit of 16 KiB/);
    const agent = await register({ metadata: metadata(limit) });
    expect(agent.status).toBe('DRAFT');

    const longReason = await identity.exec(TRANSITION, {
      id: agent.id,
      to: 'PROVISIONED',
      reason: 'r'.repeat(InputLimits.reasonChars + 1),
    });
    expect(longReason.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'reason',
      maxLength: InputLimits.reasonChars,
    });
  });

  it('filters by capability semver range, kind, category and tags, paginating with a total count', async () => {
    const tag = `range-${Date.now()}`;
    const versions = ['1.0.0', '1.2.0', '1.5.3', '2.0.0', '2.1.0', '3.0.0'];
    for (const version of versions) {
      await register({
        tags: [tag],
        capabilities: [{ name: 'seo.audit-site', version, description: 'Audits a site' }],
      });
    }
    const search = async (range: string, first = 10, after?: string) =>
      (
        await identity.exec<{
          agents: {
            totalCount: number;
            edges: { cursor: string; node: AgentView }[];
            pageInfo: { hasNextPage: boolean; endCursor: string };
          };
        }>(
          `query($f: AgentFilter, $first: Int, $after: String) { agents(filter: $f, first: $first, after: $after) {
            totalCount pageInfo { hasNextPage endCursor } edges { cursor node { handle capabilities { version } } } } }`,
          {
            f: {
              tags: [tag],
              kind: 'CUSTOMER',
              category: 'MARKETING',
              capability: { name: 'seo.audit-site', versionRange: range },
            },
            first,
            after,
          },
        )
      ).data!.agents;
    const versionsOf = (page: Awaited<ReturnType<typeof search>>) =>
      page.edges.map((e) => e.node.capabilities[0]!.version).sort();

    expect(versionsOf(await search('^1.2'))).toEqual(['1.2.0', '1.5.3']);
    expect(versionsOf(await search('>=2 <3'))).toEqual(['2.0.0', '2.1.0']);
    expect((await search('*')).totalCount).toBe(6);

    const first = await search('>=1.0.0', 4);
    expect(first.totalCount).toBe(6);
    expect(first.edges).toHaveLength(4);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await search('>=1.0.0', 4, first.pageInfo.endCursor);
    expect(second.edges).toHaveLength(2);
    expect(second.pageInfo.hasNextPage).toBe(false);
    const handles = [...first.edges, ...second.edges].map((e) => e.node.handle);
    expect(new Set(handles).size).toBe(6);
    expect([...handles].sort()).toEqual(handles);
  });

  it('replaces capabilities and announces the change', async () => {
    const agent = await register();
    const result = await identity.exec<{
      setAgentCapabilities: {
        capabilities: { name: string }[];
        versions: { version: string; capabilities: { name: string }[] }[];
      };
    }>(
      `mutation($id: ID!, $c: [CapabilityInput!]!) { setAgentCapabilities(id: $id, capabilities: $c) { capabilities { name } versions { version capabilities { name } } } }`,
      {
        id: agent.id,
        c: [{ name: 'email.write-campaign', version: '2.0.0', description: 'Writes an email campaign' }],
      },
    );
    expect(result.data?.setAgentCapabilities.capabilities).toEqual([{ name: 'email.write-campaign' }]);
    expect(result.data?.setAgentCapabilities.versions).toEqual([
      { version: '1.0.0', capabilities: [{ name: 'email.write-campaign' }] },
    ]);
    const [event] = await pollFor(
      () =>
        identity.eventsOf('identity.agent.capabilities-changed', agent.id).length === 1 &&
        identity.eventsOf('identity.agent.capabilities-changed', agent.id),
    );
    expect(event!.data).toMatchObject({
      agentId: agent.id,
      actor: 'op-test',
      capabilities: [{ name: 'email.write-campaign', version: '2.0.0' }],
    });
  });

  it('describes an agent as an A2A AgentCard', async () => {
    const agent = await register();
    const card = await identity.exec<{ agentCard: Record<string, unknown> }>(
      `query($id: ID!) { agentCard(id: $id) { name version url capabilities { streaming stateTransitionHistory } defaultInputModes defaultOutputModes skills { id examples outputModes } } }`,
      { id: agent.id },
    );
    expect(card.data?.agentCard).toEqual({
      name: `Test ${agent.handle}`,
      version: '1.0.0',
      url: `http://localhost:4000/agents/${agent.handle}`,
      capabilities: { streaming: false, stateTransitionHistory: true },
      defaultInputModes: ['application/json'],
      defaultOutputModes: ['text/markdown'],
      skills: [
        {
          id: 'content.write-article',
          examples: ['A blog post on diabetes care'],
          outputModes: ['text/markdown'],
        },
      ],
    });
  });

  it('resolves N entity references with one database query (DataLoader)', async () => {
    const agents = await Promise.all([1, 2, 3, 4, 5].map(() => register()));
    const ids = agents.map((a) => a.id);
    // Every agents read that names these agents by id, whatever else runs meanwhile (the outbox relay's
    // scan, a consumer replaying other tests' commands) on the same connection.
    const reads: { method: string; ids: unknown[] }[] = [];
    identity.db.connection.set('debug', (collection: string, method: string, query: unknown) => {
      if (collection !== 'agents' || !/^(find|findOne)$/.test(method)) return;
      const idFilter = (query as { _id?: unknown } | undefined)?._id;
      const named =
        idFilter && typeof idFilter === 'object' && '$in' in idFilter
          ? (idFilter as { $in: unknown[] }).$in
          : idFilter === undefined
            ? []
            : [idFilter];
      if (named.some((id) => ids.includes(String(id)))) reads.push({ method, ids: named.map(String) });
    });
    try {
      const result = await identity.exec<{ _entities: { handle: string }[] }>(
        `query($r: [_Any!]!) { _entities(representations: $r) { ... on Agent { handle capabilities { name } } } }`,
        { r: agents.map((a) => ({ __typename: 'Agent', id: a.id })) },
      );
      expect(result.data?._entities.map((e) => e.handle)).toEqual(agents.map((a) => a.handle));
    } finally {
      identity.db.connection.set('debug', false);
    }
    // One query for all five, not one per reference.
    expect(reads).toHaveLength(1);
    expect(reads[0]!.method).toBe('find');
    expect([...reads[0]!.ids].sort()).toEqual([...ids].sort());
  });
});
