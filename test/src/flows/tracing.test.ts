import type { Tracing } from '@waooaw/shared/tracing';
import { startTracing } from '@waooaw/shared/tracing';
import { CALLER_HEADER, newTraceparent, signCallerToken, traceIdOf } from '@waooaw/shared';
import type { ReceivedSpan } from '@waooaw/shared/testing';
import { pollFor, startOtlpReceiver } from '@waooaw/shared/testing';
import { postGraphQL, tokenFor } from '../gateway';
import { SECRET, startOrchestrationProcess, startPlatformWithRuntime } from '../platform';

const SERVER = 2;
const CONSUMER = 5;

/*
 * One task through the gateway, exported over real OTLP/HTTP to a receiver in this process. The
 * services run in this process too, so they share one tracer provider: each span's tracer (scope)
 * names the service that made it, as its resource's `service.name` does in a process of its own.
 */
describe('one trace per task, across Kafka', () => {
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let tracing: Tracing;
  let started: Awaited<ReturnType<typeof startPlatformWithRuntime>>;
  let operator: string;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    tracing = startTracing({ service: 'platform-test', url: receiver.url, scheduledDelayMillis: 200 });
    started = await startPlatformWithRuntime({ orchestration: true, marketplace: true, support: true });
    operator = await tokenFor(['operator'], 'ops-tracing');
    const { orchestration, runtime } = started;
    await pollFor(
      () =>
        orchestration!.replica
          .offering('tutoring.solve-problem', null)
          .some((v) => v.runtimeId === runtime.runtimeId && v.agentId !== null),
      { what: 'orchestration to know the runtime instance', timeoutMs: 100_000, intervalMs: 250 },
    );
  }, 150_000);

  afterAll(async () => {
    await started?.stop();
    await tracing?.shutdown();
    await receiver?.stop();
  });

  const gql = <T>(query: string, variables: Record<string, unknown> = {}) =>
    postGraphQL<T>(started.gateway.httpUrl, query, variables, operator);

  /** The gateway's span of a client's operation: the root of its trace (the client sent no traceparent). */
  const gatewaySpan = (operation: string) =>
    pollFor(
      async () => {
        await tracing.flush();
        return receiver.spans.find((s) => s.scope === 'gateway' && s.name === `graphql ${operation}`);
      },
      { what: `the gateway span of ${operation}` },
    );

  /** The spans of `root`'s trace once `complete` says the last expected one has arrived. */
  const traceOnce = (root: ReceivedSpan, what: string, complete: (spans: ReceivedSpan[]) => boolean) =>
    pollFor(
      async () => {
        await tracing.flush();
        const spans = receiver.trace(root.traceId);
        return complete(spans) && spans;
      },
      { what },
    );

  /** Every span but the root hangs off a span of the same trace that was exported. */
  const expectConnected = (spans: ReceivedSpan[], root: ReceivedSpan) => {
    const ids = new Set(spans.map((s) => s.spanId));
    expect(spans.filter((s) => s !== root && !ids.has(s.parentSpanId)).map((s) => s.name)).toEqual([]);
    expect(root).toMatchObject({ kind: SERVER, parentSpanId: '' });
  };

  it('follows submitTask from the gateway through orchestration, the runtime and the marketplace', async () => {
    const submitted = await gql<{ submitTask: { id: string } }>(
      `mutation TraceMe($input: SubmitTaskInput!) { submitTask(input: $input) { id } }`,
      { input: { capability: 'tutoring.solve-problem', input: { request: 'Solve 2x + 1 = 7' } } },
    );
    expect(submitted.body.errors).toBeUndefined();
    const taskId = submitted.body.data!.submitTask.id;
    await pollFor(
      async () =>
        (
          await gql<{ task: { status: string } }>(`query($id: ID!) { task(id: $id) { status } }`, {
            id: taskId,
          })
        ).body.data?.task.status === 'COMPLETED',
      { what: 'the task to complete' },
    );

    const root = await gatewaySpan('TraceMe');
    // Marketplace hears of the completed task last: once its span is there, the trace is whole.
    const marketplaceSpan = (spans: ReceivedSpan[]) =>
      spans.find(
        (s) =>
          s.scope === 'marketplace' && s.kind === CONSUMER && s.name === 'process orchestration.task.updated',
      );
    const trace = await traceOnce(root, "the marketplace's span in the task's trace", (spans) =>
      Boolean(marketplaceSpan(spans)),
    );
    expectConnected(trace, root);

    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const parentOf = (s: ReceivedSpan) => byId.get(s.parentSpanId);
    const scopes = new Set(trace.map((s) => s.scope));
    for (const service of ['gateway', 'orchestration', 'agents-runtime', 'marketplace'])
      expect(scopes).toContain(service);

    // The gateway called orchestration: its client span is the parent of orchestration's server span.
    const accept = trace.find((s) => s.scope === 'orchestration' && s.kind === SERVER)!;
    expect(parentOf(accept)).toMatchObject({ scope: 'gateway', name: 'subgraph orchestration' });
    // (between them, Apollo Gateway's own spans: request, plan, fetch)
    const ancestors = (span: ReceivedSpan): ReceivedSpan[] => {
      const parent = parentOf(span);
      return parent ? [parent, ...ancestors(parent)] : [];
    };
    expect(ancestors(accept).at(-1)).toBe(root);

    // Across Kafka: the assignment's consumer span in the runtime hangs off orchestration's span.
    const assigned = trace.find((s) => s.scope === 'agents-runtime' && s.kind === CONSUMER)!;
    expect(assigned.name).toMatch(/^process agents\.task\.assigned/);
    expect(parentOf(assigned)?.scope).toBe('orchestration');
    const run = trace.find((s) => s.scope === 'agents-runtime' && s.name === 'run tutoring.solve-problem')!;
    expect(parentOf(run)).toBe(assigned);
    expect(run.attributes).toMatchObject({ 'waooaw.task.id': taskId, 'waooaw.outcome': 'SUCCEEDED' });

    // The result, published inside the run, is consumed by orchestration under that run.
    const result = trace.find(
      (s) => s.scope === 'orchestration' && s.kind === CONSUMER && parentOf(s) === run,
    );
    expect(result?.name).toMatch(/^process agents\.task\.result/);

    // And the task's update reaches the marketplace from orchestration.
    expect(parentOf(marketplaceSpan(trace)!)?.scope).toBe('orchestration');
    expect(receiver.rejected).toEqual([]);
  }, 120_000);

  it("follows a trial's activation: the marketplace's saga, orchestration and the first deliverable's run", async () => {
    const customer = await tokenFor(['customer'], 'cust-tracing');
    const listed = await pollFor(
      async () => {
        const page = await postGraphQL<{ listings: { edges: { node: { id: string; handle: string } }[] } }>(
          started.gateway.httpUrl,
          `{ listings(filter: { availableNow: true }, first: 50) { edges { node { id handle } } } }`,
          {},
          customer,
        );
        return page.body.data?.listings.edges.find((e) => e.node.handle === 'wow-care-content')?.node;
      },
      { what: 'the trial agent to be listed and available', timeoutMs: 60_000 },
    );
    await pollFor(
      () =>
        started
          .orchestration!.replica.offering('trial.first-deliverable', null, 'wow-care-content')
          .some((v) => v.runtimeId === started.runtime.runtimeId),
      { what: 'orchestration to know the trial agent', timeoutMs: 60_000, intervalMs: 100 },
    );
    const trial = await postGraphQL<{ startTrial: { id: string } }>(
      started.gateway.httpUrl,
      `mutation StartTracedTrial($input: StartTrialInput!) { startTrial(input: $input) { id } }`,
      {
        input: {
          agentId: listed.id,
          businessContext: { businessName: 'Traced Clinic', industry: 'healthcare' },
        },
      },
      customer,
    );
    expect(trial.body.errors).toBeUndefined();

    const root = await gatewaySpan('StartTracedTrial');
    // The first deliverable is kept once its task's update reaches the marketplace.
    const spans = await traceOnce(
      root,
      "the marketplace's handling of the first deliverable in the trial's trace",
      (found) =>
        found.some(
          (s) =>
            s.scope === 'marketplace' &&
            s.kind === CONSUMER &&
            s.name === 'process orchestration.task.updated',
        ),
    );
    expectConnected(spans, root);
    const names = spans.map((s) => `${s.scope}: ${s.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        // (Apollo Gateway names the subgraph's operation after the client's)
        'marketplace: graphql StartTracedTrial__marketplace__0',
        'agents-runtime: run trial.first-deliverable',
        'marketplace: process orchestration.task.updated',
      ]),
    );
    expect(spans.some((s) => s.scope === 'orchestration' && s.kind === CONSUMER)).toBe(true);
  }, 120_000);

  it("follows a support ticket from L1's miss to L2's resolution", async () => {
    const customer = await tokenFor(['customer'], 'cust-tracing-support');
    await pollFor(
      () =>
        ['wow-support', 'wow-analytics'].every((h) =>
          started.orchestration!.replica.byHandle(h).some((v) => v.runtimeId === started.runtime.runtimeId),
        ),
      { what: 'orchestration to know the support agents', timeoutMs: 60_000, intervalMs: 200 },
    );
    const opened = await postGraphQL<{ openTicket: { id: string } }>(
      started.gateway.httpUrl,
      `mutation OpenTracedTicket($input: OpenTicketInput!) { openTicket(input: $input) { id } }`,
      {
        input: { subject: 'Leads dashboard is empty', description: 'The leads dashboard shows zero leads.' },
      },
      customer,
    );
    expect(opened.body.errors).toBeUndefined();
    const id = opened.body.data!.openTicket.id;
    await pollFor(
      async () => {
        const t = (
          await gql<{ ticket: { status: string; tier: string } | null }>(
            `query($id: ID!) { ticket(id: $id) { status tier } }`,
            { id },
          )
        ).body.data?.ticket;
        return t?.status === 'RESOLVED' && t.tier === 'L2';
      },
      { what: 'L2 to resolve the ticket', timeoutMs: 30_000 },
    );

    const root = await gatewaySpan('OpenTracedTicket');
    // Support's handling of L2's finished task is the last step of the ticket's work.
    const runs = (spans: ReceivedSpan[]) =>
      spans.filter((s) => s.scope === 'agents-runtime' && s.name.startsWith('run '));
    const spans = await traceOnce(root, "L1's and L2's work in the ticket's trace", (found) => {
      const ranL2 = runs(found).some((s) => s.attributes['waooaw.capability'] !== 'support.answer-ticket');
      return ranL2 && found.filter((s) => s.scope === 'support' && s.kind === CONSUMER).length >= 2;
    });
    expectConnected(spans, root);
    expect(spans.some((s) => s.scope === 'support' && s.kind === SERVER)).toBe(true);
    expect(runs(spans).map((s) => s.attributes['waooaw.capability'])).toContain('support.answer-ticket');
  }, 120_000);
});

/*
 * A service as `npm start` runs it: its entry loads the SDK first when OTEL_EXPORTER_OTLP_ENDPOINT is
 * set, names itself after its package, continues the caller's traceparent and instruments the
 * MongoDB driver. Stopped with SIGTERM, it exports what it still holds before it exits.
 */
describe('a service process with OTEL_EXPORTER_OTLP_ENDPOINT set', () => {
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let orchestration: Awaited<ReturnType<typeof startOrchestrationProcess>> | undefined;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    orchestration = await startOrchestrationProcess({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
  }, 90_000);
  afterAll(async () => {
    await orchestration?.stop();
    await receiver?.stop();
  });

  it("exports its request span under the caller's trace, with the MongoDB commands inside it", async () => {
    const caller = await signCallerToken({ sub: 'ops-trace', roles: ['operator'] }, SECRET, 'orchestration');
    const traceparent = newTraceparent();
    const res = await fetch(orchestration!.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent, [CALLER_HEADER]: caller },
      body: JSON.stringify({ query: 'query FindTask { task(id: "task-none") { id } }' }),
    });
    expect(await res.json()).toEqual({ data: { task: null } });

    const spans = await pollFor(
      () => {
        const found = receiver.trace(traceIdOf(traceparent)!);
        return found.some((s) => s.scope.includes('mongodb')) && found;
      },
      { what: "the process's spans in the caller's trace" },
    );
    const server = spans.find((s) => s.name === 'graphql FindTask')!;
    expect(server).toMatchObject({
      service: 'orchestration',
      kind: SERVER,
      parentSpanId: traceparent.split('-')[2],
    });
    const find = spans.find((s) => s.scope.includes('mongodb'))!;
    expect(find.service).toBe('orchestration');
    expect(find.parentSpanId).toBe(server.spanId);
    expect(find.attributes['db.system'] ?? find.attributes['db.system.name']).toBe('mongodb');
  }, 60_000);
});
