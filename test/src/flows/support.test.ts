import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { pollFor } from '@waooaw/shared/testing';
import { postGraphQL, tokenFor } from '../gateway';
import { startPlatformWithRuntime } from '../platform';

interface Ticket {
  id: string;
  tier: string;
  status: string;
  history: { change: string; code: string | null; reason: string | null; toTier: string | null }[];
  resolution: {
    summary: string;
    tier: string;
    articleIds: string[];
    findings: { agentHandle: string }[];
  } | null;
}
const TICKET = `id tier status history { change code reason toTier }
  resolution { summary tier articleIds findings { agentHandle } }`;

interface Update {
  ticketId: string;
  change: string;
  tier: string;
  status: string;
  ticket: { subject: string } | null;
}

describe('support escalation through the gateway, with the real agents', () => {
  let started: Awaited<ReturnType<typeof startPlatformWithRuntime>>;
  let meera: string;
  let arjun: string;
  let expert: string;
  let operator: string;
  const meeraSees: Update[] = [];
  const arjunSees: Update[] = [];
  const clients: ReturnType<typeof createClient>[] = [];

  /** Every ticket change the caller may see, live over graphql-ws. */
  function watch(token: string, into: Update[]) {
    const client = createClient({
      url: started.gateway.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
    });
    clients.push(client);
    void (async () => {
      for await (const result of client.iterate<{ ticketUpdated: Update }>({
        query: `subscription { ticketUpdated { ticketId change tier status ticket { subject } } }`,
      })) {
        if (result.data) into.push(result.data.ticketUpdated);
      }
    })();
  }

  beforeAll(async () => {
    started = await startPlatformWithRuntime({ orchestration: true, support: true });
    [meera, arjun, expert, operator] = await Promise.all([
      tokenFor(['customer'], 'cust-meera'),
      tokenFor(['customer'], 'cust-arjun'),
      tokenFor(['support-l3'], 'expert-priya'),
      tokenFor(['operator'], 'ops-support'),
    ]);
    const { orchestration, runtime } = started;
    await pollFor(
      () =>
        ['wow-support', 'wow-security', 'wow-analytics', 'wow-integration'].every((h) =>
          orchestration!.replica.byHandle(h).some((v) => v.runtimeId === runtime.runtimeId),
        ),
      { what: 'orchestration to know the support agents', timeoutMs: 100_000, intervalMs: 200 },
    );
    const heard = await started.gateway.whenListening(2);
    watch(meera, meeraSees);
    watch(arjun, arjunSees);
    await heard(); // tickets are opened once both subscriptions hear the feed
  }, 200_000);
  afterAll(async () => {
    for (const c of clients) void c.dispose();
    await started.stop();
  });

  const gql = <T>(query: string, variables: Record<string, unknown>, auth: string) =>
    postGraphQL<T>(started.gateway.httpUrl, query, variables, auth);
  const open = async (
    subject: string,
    description: string,
    auth = meera,
    extra: Record<string, unknown> = {},
  ) => {
    const res = await gql<{ openTicket: Ticket }>(
      `mutation($input: OpenTicketInput!) { openTicket(input: $input) { ${TICKET} } }`,
      { input: { subject, description, ...extra } },
      auth,
    );
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.openTicket;
  };
  const ticket = (id: string, auth = meera) =>
    gql<{ ticket: Ticket | null }>(`query($id: ID!) { ticket(id: $id) { ${TICKET} } }`, { id }, auth);
  const until = (id: string, what: string, done: (t: Ticket) => boolean, timeoutMs = 30_000) =>
    pollFor(
      async () => {
        const t = (await ticket(id, operator)).body.data?.ticket;
        return t && done(t) ? t : undefined;
      },
      { what, timeoutMs },
    );

  it('resolves a ticket that matches an article at L1, by WowSupport, citing the article', async () => {
    const opened = await open('Cancel my trial', 'How do I cancel a trial before it converts?');
    expect(opened.tier).toBe('L1');
    const resolved = await until(opened.id, 'L1 to resolve it', (t) => t.status === 'RESOLVED', 15_000);
    expect(resolved.tier).toBe('L1');
    expect(resolved.resolution).toMatchObject({ tier: 'L1', articleIds: ['kb-trial-cancel'] });
    expect(resolved.resolution!.summary).toMatch(/cancel/i);
    await pollFor(() => meeraSees.some((u) => u.ticketId === opened.id && u.status === 'RESOLVED'), {
      what: 'the customer to see the resolution live',
    });
  });

  it('sends an L1 miss to L2, whose agents resolve it with their findings', async () => {
    const opened = await open(
      'Leads dashboard is empty',
      'The leads dashboard shows zero leads since yesterday.',
    );
    const resolved = await until(opened.id, 'L2 to resolve it', (t) => t.status === 'RESOLVED');
    expect(resolved.tier).toBe('L2');
    expect(resolved.history.find((h) => h.toTier === 'L2')).toMatchObject({ code: 'LOW_CONFIDENCE' });
    expect(resolved.resolution!.findings.map((f) => f.agentHandle)).toContain('wow-analytics');
  });

  it('takes a ticket nobody can answer L1 -> L2 -> L3, where a human resolves it; the customer sees every change and nobody else sees any', async () => {
    const opened = await open('Cannot log in', 'I cannot log in to my account since this morning.');
    const atL3 = await until(opened.id, 'the ticket to reach L3', (t) => t.tier === 'L3');
    const escalations = atL3.history.filter((h) => h.change === 'ESCALATED');
    expect(escalations.map((h) => [h.toTier, h.code])).toEqual([
      ['L2', 'LOW_CONFIDENCE'],
      ['L3', 'NEEDS_EXPERT'],
    ]);
    expect(escalations.every((h) => (h.reason ?? '').length > 10)).toBe(true);

    // Another customer can neither read nor escalate it.
    expect((await ticket(opened.id, arjun)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const escalate = await gql(
      `mutation($id: ID!) { escalateTicket(id: $id, reason: "me too", toTier: L3) { id } }`,
      { id: opened.id },
      arjun,
    );
    expect(escalate.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    // The L3 expert takes it from the queue and resolves it.
    const queue = await gql<{ supportQueue: { id: string }[] }>(
      `{ supportQueue(tier: L3) { id } }`,
      {},
      expert,
    );
    expect(queue.body.data!.supportQueue.map((t) => t.id)).toContain(opened.id);
    const assigned = await gql(
      `mutation($id: ID!) { assignTicket(id: $id, assignee: "expert-priya") { id } }`,
      { id: opened.id },
      expert,
    );
    expect(assigned.body.errors).toBeUndefined();
    const resolved = await gql<{ resolveTicket: Ticket }>(
      `mutation($id: ID!) { resolveTicket(id: $id, resolution: "Your account was locked after 5 failed attempts; unlocked it.") { ${TICKET} } }`,
      { id: opened.id },
      expert,
    );
    expect(resolved.body.data!.resolveTicket).toMatchObject({ status: 'RESOLVED', tier: 'L3' });

    // Meera's subscription saw it enter L2 and L3 and be resolved, with the ticket resolved through
    // the gateway; Arjun's saw nothing of hers.
    await pollFor(() => meeraSees.some((u) => u.ticketId === opened.id && u.status === 'RESOLVED'), {
      what: 'the resolution on the customer’s subscription',
    });
    const hers = meeraSees.filter((u) => u.ticketId === opened.id);
    expect(new Set(hers.map((u) => u.tier))).toEqual(new Set(['L1', 'L2', 'L3']));
    expect(hers.every((u) => u.ticket?.subject === 'Cannot log in')).toBe(true);
    expect(arjunSees).toEqual([]);
  }, 90_000);

  it('escalates a ticket by itself with SLA_BREACH when its tier’s SLA runs out', async () => {
    const opened = await open(
      'Cannot log in',
      'I cannot log in to my account since this morning.',
      operator,
      {
        customerId: 'cust-meera',
        slaSeconds: { l1: 0.2, l2: 0.2, l3: 0.2 },
      },
    );
    const breached = await until(opened.id, 'the SLA breach', (t) =>
      t.history.some((h) => h.code === 'SLA_BREACH'),
    );
    expect(breached.history.find((h) => h.code === 'SLA_BREACH')!.reason).toMatch(/SLA_BREACH/);
  });
});
