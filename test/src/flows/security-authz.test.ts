import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { discoveryEvents, marketplaceEvents, orchestrationEvents, supportEvents } from '@waooaw/shared';
import { connectTestBus, pollFor, testDatabase, uniqueName } from '@waooaw/shared/testing';
import { postGraphQL, startTestGateway, tokenFor } from '../gateway';
import { SECRET, startOrchestration, startSupport } from '../platform';

interface GraphQLErrorShape {
  message: string;
  path?: readonly (string | number)[];
  extensions?: Record<string, unknown>;
}

/** What one subscription received: each payload, and the errors it was refused or failed with. */
interface Received<T> {
  data: T[];
  errors: GraphQLErrorShape[];
}

/**
 * Issue 17 point 5, through the real gateway in front of the real orchestration and support
 * subgraphs on the real Kafka and MongoDB: every feed and every entity checks who is asking.
 */
describe('every feed and entity checks who is asking', () => {
  let orchestration: Awaited<ReturnType<typeof startOrchestration>>;
  let support: Awaited<ReturnType<typeof startSupport>>;
  let gateway: Awaited<ReturnType<typeof startTestGateway>>;
  let gatewayDb: Awaited<ReturnType<typeof testDatabase>>;
  let probes: Awaited<ReturnType<typeof connectTestBus>>;
  const clients: ReturnType<typeof createClient>[] = [];

  const run = uniqueName('authz');
  const who = {
    meera: `${run}-cust-meera`,
    arjun: `${run}-cust-arjun`,
    l1: `${run}-support-l1`,
    l3: `${run}-support-l3`,
    ops: `${run}-ops`,
  };
  const tokens = {} as Record<keyof typeof who, string>;
  /** A capability only this file's fake instance offers: its tasks wait, they never run. */
  const capability = `${run.replace(/[^a-z0-9]/gi, '')}.wait`;
  const instanceId = `${run}-instance`;
  const instance = (change: 'REGISTERED' | 'DEREGISTERED') =>
    probes.bus.publish(discoveryEvents.instanceChanged, {
      change,
      instance: {
        instanceId,
        agentId: null,
        handle: `${run}-agent`,
        agentVersion: '1.0.0',
        runtimeId: null,
        inbox: null,
        tier: 'STANDARD',
        weight: 1,
        concurrency: 1,
        capabilities: [{ name: capability, version: '1.0.0' }],
        // Offered (so workflows of it are accepted) but never picked: nothing runs, nothing is sent.
        health: 'UNHEALTHY',
        circuit: 'OPEN',
        inFlight: 0,
      },
      at: new Date().toISOString(),
    });

  beforeAll(async () => {
    [orchestration, support] = await Promise.all([startOrchestration(), startSupport()]);
    gatewayDb = await testDatabase('gateway-authz');
    gateway = await startTestGateway({
      urls: { orchestration: orchestration.url, support: support.url },
      callerSecret: SECRET,
      connection: gatewayDb.connection,
    });
    probes = await connectTestBus('authz-probes');
    tokens.meera = await tokenFor(['customer'], who.meera);
    tokens.arjun = await tokenFor(['customer'], who.arjun);
    tokens.l1 = await tokenFor(['support-l1'], who.l1);
    tokens.l3 = await tokenFor(['support-l3'], who.l3);
    tokens.ops = await tokenFor(['operator'], who.ops);
    await instance('REGISTERED');
    await pollFor(() => orchestration.replica.offering(capability, null).length > 0, {
      what: 'orchestration to know the fake instance',
    });
  }, 120_000);
  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await instance('DEREGISTERED');
    await probes.close();
    await gateway.service.stop();
    await support.stop();
    await orchestration.stop();
    await gatewayDb.drop();
  });

  const gql = <T>(query: string, variables: Record<string, unknown>, auth: string) =>
    postGraphQL<T>(gateway.httpUrl, query, variables, auth);

  /** Subscribes over graphql-ws (anonymously with null) and collects what arrives. */
  function subscribe<T>(token: string | null, query: string): Received<T> {
    const client = createClient({
      url: gateway.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: token ? { authorization: `Bearer ${token}` } : {},
      retryAttempts: 0,
    });
    clients.push(client);
    const received: Received<T> = { data: [], errors: [] };
    void (async () => {
      try {
        for await (const result of client.iterate<Record<string, T>>({ query })) {
          if (result.errors) received.errors.push(...result.errors);
          if (result.data) received.data.push(...Object.values(result.data));
        }
      } catch (err) {
        received.errors.push(
          ...(Array.isArray(err) ? (err as GraphQLErrorShape[]) : [{ message: String(err) }]),
        );
      }
    })();
    return received;
  }

  /**
   * Publishes a probe event the subscriber may hear until it has: the subscription is live from then
   * on, and everything the gateway matched for it before the probe has been delivered (one queue).
   */
  async function heard<T>(
    received: Received<T>,
    publish: (probeId: string) => Promise<unknown>,
    idOf: (payload: T) => string,
    what: string,
  ) {
    const probeId = uniqueName(`${run}-probe`);
    await pollFor(
      async () => {
        await publish(probeId);
        return received.data.some((p) => idOf(p) === probeId);
      },
      { what, intervalMs: 500 },
    );
  }

  const workflowProbe = (customerId: string | null) => (workflowId: string) =>
    probes.bus.publish(orchestrationEvents.workflowUpdated, {
      workflowId,
      status: 'RUNNING',
      nodeId: null,
      nodeStatus: null,
      customerId,
      at: new Date().toISOString(),
    });
  const taskProbe = (customerId: string | null) => (taskId: string) =>
    probes.bus.publish(orchestrationEvents.taskUpdated, {
      taskId,
      status: 'SUBMITTED',
      capability,
      priority: 'NORMAL',
      attempts: 0,
      instanceId: null,
      agentId: null,
      customerId,
      workflowId: null,
      sagaId: null,
      durationMs: null,
      error: null,
      at: new Date().toISOString(),
    });
  const ticketProbe = (tier: 'L1' | 'L3') => (ticketId: string) =>
    probes.bus.publish(supportEvents.ticketUpdated, {
      ticketId,
      customerId: `${run}-someone`,
      change: 'ASSIGNED',
      tier,
      previousTier: tier,
      status: 'IN_PROGRESS',
      previousStatus: 'OPEN',
      code: null,
      reason: null,
      actorKind: 'HUMAN',
      actorId: who.ops,
      assignee: who.ops,
      slaDueAt: null,
      slaBreached: false,
      sequence: 2,
      at: new Date().toISOString(),
    });

  it('workflowUpdated refuses anonymous callers, tells a customer only of their own workflows and operators of all', async () => {
    const QUERY = `subscription { workflowUpdated { workflowId status nodeId } }`;
    type Update = { workflowId: string; status: string; nodeId: string | null };
    const anonymous = subscribe<Update>(null, QUERY);
    await pollFor(() => anonymous.errors.length > 0, { what: 'the anonymous subscription to be refused' });
    expect(anonymous.errors[0]!.extensions?.code).toBe('UNAUTHENTICATED');

    const meera = subscribe<Update>(tokens.meera, QUERY);
    const arjun = subscribe<Update>(tokens.arjun, QUERY);
    const l1 = subscribe<Update>(tokens.l1, QUERY);
    const ops = subscribe<Update>(tokens.ops, QUERY);
    const id = (u: Update) => u.workflowId;
    await heard(meera, workflowProbe(who.meera), id, 'Meera’s subscription to be live');
    await heard(arjun, workflowProbe(who.arjun), id, 'Arjun’s subscription to be live');
    await heard(l1, workflowProbe(who.l1), id, 'support-l1’s subscription to be live');
    await heard(ops, workflowProbe(null), id, 'the operator’s subscription to be live');

    const submitted = await gql<{ submitWorkflow: { id: string } }>(
      `mutation($input: SubmitWorkflowInput!) { submitWorkflow(input: $input) { id } }`,
      { input: { name: 'private plan', nodes: [{ id: 'secret-step', capability, input: {} }] } },
      tokens.meera,
    );
    expect(submitted.body.errors).toBeUndefined();
    const workflowId = submitted.body.data!.submitWorkflow.id;

    // Its owner and the operator hear it (orchestration's events say whose workflow it is) ...
    await pollFor(() => meera.data.some((u) => u.workflowId === workflowId), { what: 'Meera to hear it' });
    await pollFor(() => ops.data.some((u) => u.workflowId === workflowId), {
      what: 'the operator to hear it',
    });
    // ... and once the others have heard a later event of their own, they provably heard none of it.
    await heard(arjun, workflowProbe(who.arjun), id, 'Arjun’s next probe');
    await heard(l1, workflowProbe(who.l1), id, 'support-l1’s next probe');
    expect(arjun.data.filter((u) => u.workflowId === workflowId)).toEqual([]);
    expect(l1.data.filter((u) => u.workflowId === workflowId)).toEqual([]);
    expect([...arjun.errors, ...l1.errors, ...meera.errors, ...ops.errors]).toEqual([]);
    expect(anonymous.data).toEqual([]);
  });

  it('taskUpdated tells support roles of no customer’s tasks: only owners, operators and admins hear them', async () => {
    const QUERY = `subscription { taskUpdated { taskId status } }`;
    type Update = { taskId: string; status: string };
    const l1 = subscribe<Update>(tokens.l1, QUERY);
    const ops = subscribe<Update>(tokens.ops, QUERY);
    const id = (u: Update) => u.taskId;
    await heard(l1, taskProbe(who.l1), id, 'support-l1’s subscription to be live');
    await heard(ops, taskProbe(null), id, 'the operator’s subscription to be live');

    const submitted = await gql<{ submitTask: { id: string } }>(
      `mutation($input: SubmitTaskInput!) { submitTask(input: $input) { id } }`,
      { input: { capability, input: { request: 'my private request' } } },
      tokens.meera,
    );
    expect(submitted.body.errors).toBeUndefined();
    const taskId = submitted.body.data!.submitTask.id;
    await pollFor(() => ops.data.some((u) => u.taskId === taskId), { what: 'the operator to hear the task' });
    await heard(l1, taskProbe(who.l1), id, 'support-l1’s next probe');
    expect(l1.data.filter((u) => u.taskId === taskId)).toEqual([]);
  });

  describe('a ticket at L3', () => {
    let ticketId: string;
    const description = `${run}: my password reset mail never arrives`;

    beforeAll(async () => {
      const opened = await gql<{ openTicket: { id: string } }>(
        `mutation($input: OpenTicketInput!) { openTicket(input: $input) { id } }`,
        { input: { subject: 'Cannot log in', description } },
        tokens.meera,
      );
      expect(opened.body.errors).toBeUndefined();
      ticketId = opened.body.data!.openTicket.id;
      // Its agents' work may move it up by itself; the operator takes it the rest of the way to L3.
      await pollFor(
        async () => {
          const read = await gql<{ ticket: { tier: string; work: { task: { id: string } }[] } }>(
            `query($id: ID!) { ticket(id: $id) { tier work { task { id } } } }`,
            { id: ticketId },
            tokens.ops,
          );
          const ticket = read.body.data?.ticket;
          if (ticket?.tier === 'L3' && ticket.work.length > 0) return true;
          if (ticket && ticket.tier !== 'L3')
            await gql(
              `mutation($id: ID!) { escalateTicket(id: $id, reason: "needs an expert", toTier: L3) { id } }`,
              { id: ticketId },
              tokens.ops,
            );
          return false;
        },
        { what: 'the ticket to be at L3 with its L1 task in orchestration', intervalMs: 200 },
      );
    });

    it('ticket.work.task resolves orchestration’s Task with the caller’s rights: its customer and operators read it, support-l1 does not', async () => {
      const QUERY = `query($id: ID!) { ticket(id: $id) { id work { id task { id input } } } }`;
      type Read = { ticket: { work: { task: { input: unknown } | null }[] } | null };
      const mine = await gql<Read>(QUERY, { id: ticketId }, tokens.meera);
      expect(mine.body.errors).toBeUndefined();
      expect(JSON.stringify(mine.body.data!.ticket!.work[0]!.task!.input)).toContain(description);
      const staff = await gql<Read>(QUERY, { id: ticketId }, tokens.ops);
      expect(staff.body.errors).toBeUndefined();

      const l1 = await gql<Read>(QUERY, { id: ticketId }, tokens.l1);
      expect(l1.body.errors?.map((e) => e.extensions.code)).toContain('FORBIDDEN');
      expect(JSON.stringify(l1.body.data ?? null)).not.toContain(description);
      // support-l1 still reads the ticket itself (support reads every ticket).
      const ticketOnly = await gql<{ ticket: { id: string } }>(
        `query($id: ID!) { ticket(id: $id) { id } }`,
        { id: ticketId },
        tokens.l1,
      );
      expect(ticketOnly.body.data?.ticket.id).toBe(ticketId);
    });

    it('support acts on a ticket at its tier or below only: support-l1 cannot comment on it or pause its SLA, and does not hear its changes', async () => {
      const QUERY = `subscription { ticketUpdated { ticketId change tier status } }`;
      type Update = { ticketId: string; change: string; tier: string; status: string };
      const l1Hears = subscribe<Update>(tokens.l1, QUERY);
      const l3Hears = subscribe<Update>(tokens.l3, QUERY);
      const id = (u: Update) => u.ticketId;
      await heard(l1Hears, ticketProbe('L1'), id, 'support-l1’s subscription to be live');
      await heard(l3Hears, ticketProbe('L3'), id, 'support-l3’s subscription to be live');

      const COMMENT = `mutation($id: ID!, $body: String!) {
        addTicketComment(id: $id, body: $body, waitingOnCustomer: true) { status slaDueAt } }`;
      type Commented = { addTicketComment: { status: string; slaDueAt: string | null } };
      const byL1 = await gql<Commented>(
        COMMENT,
        { id: ticketId, body: 'Please send a screenshot' },
        tokens.l1,
      );
      expect(byL1.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
      expect(byL1.body.errors?.[0]?.message).toMatch(/L3/);
      const unchanged = await gql<{ ticket: { status: string; comments: unknown[] } }>(
        `query($id: ID!) { ticket(id: $id) { status comments { id } } }`,
        { id: ticketId },
        tokens.ops,
      );
      expect(unchanged.body.data!.ticket.status).not.toBe('WAITING_ON_CUSTOMER');
      expect(unchanged.body.data!.ticket.comments).toEqual([]);

      const byL3 = await gql<Commented>(
        COMMENT,
        { id: ticketId, body: 'Please send a screenshot' },
        tokens.l3,
      );
      expect(byL3.body.errors).toBeUndefined();
      expect(byL3.body.data!.addTicketComment).toMatchObject({
        status: 'WAITING_ON_CUSTOMER',
        slaDueAt: null,
      });

      // The L3 expert hears the change; support-l1 hears none of this L3 ticket's changes.
      await pollFor(
        () => l3Hears.data.some((u) => u.ticketId === ticketId && u.status === 'WAITING_ON_CUSTOMER'),
        { what: 'support-l3 to hear the ticket wait on its customer' },
      );
      await heard(l1Hears, ticketProbe('L1'), id, 'support-l1’s next probe');
      expect(l1Hears.data.filter((u) => u.ticketId === ticketId && u.tier === 'L3')).toEqual([]);
    });
  });

  it('activityFeed (public) delivers none of a customer’s ids', async () => {
    // Every field an anonymous subscriber could select (entities aside), from the gateway's own schema.
    const type = await postGraphQL<{
      __type: { fields: { name: string; type: { kind: string; ofType: { kind: string } | null } }[] };
    }>(
      gateway.httpUrl,
      `{ __type(name: "ActivityEvent") { fields { name type { kind ofType { kind } } } } }`,
    );
    const leaves = type.body
      .data!.__type.fields.filter((f) => f.type.kind !== 'OBJECT' && f.type.ofType?.kind !== 'OBJECT')
      .map((f) => f.name);
    expect(leaves).toEqual(expect.arrayContaining(['activityId', 'message', 'agentId']));

    type Activity = Record<string, unknown>;
    const feed = subscribe<Activity>(null, `subscription { activityFeed { ${leaves.join(' ')} } }`);
    const secrets = { customerId: `${run}-cust-x`, trialId: `${run}-trial-x`, deliverableId: `${run}-dlv-x` };
    await heard(
      feed,
      (activityId) =>
        probes.bus.publish(marketplaceEvents.activityCreated, {
          activityId,
          kind: 'TRIAL_STARTED',
          message: 'A customer started a 7-day free trial of Some Agent',
          agentId: `${run}-agent`,
          handle: `${run}-agent`,
          category: 'MARKETING',
          ...secrets,
          at: new Date().toISOString(),
        }),
      (a) => a.activityId as string,
      'the anonymous activity feed to deliver the event',
    );
    expect(feed.errors).toEqual([]);
    const delivered = JSON.stringify(feed.data);
    for (const secret of Object.values(secrets)) expect(delivered).not.toContain(secret);
  });
});
