import { randomUUID } from 'node:crypto';
import { discoveryMessages, identityEvents, orchestrationEvents } from '@waooaw/shared';
import { pollFor, uniqueName } from '@waooaw/shared/testing';
import { IDLE, INSTANCE_FIELDS, startDiscovery } from './harness';

interface Instance {
  id: string;
  handle: string;
  source: string;
  inbox: string | null;
  status: string;
  tier: string;
  weight: number;
  agent: { id: string } | null;
  health: { status: string; reason: string };
  circuit: { state: string; preset: string; calls: number; failureRate: number };
  load: { inFlight: number };
}

const REGISTER = `mutation($input: RegisterInstanceInput!) { registerInstance(input: $input) { ${INSTANCE_FIELDS} } }`;
const HEARTBEAT = `mutation($id: ID!, $load: InstanceLoadInput!) { heartbeat(instanceId: $id, load: $load) { ${INSTANCE_FIELDS} } }`;
const SELECT = `query($c: String!, $r: String, $s: LoadBalancingStrategy) {
  selectAgent(capability: $c, versionRange: $r, strategy: $s) { id weight } }`;
const INSTANCE = `query($id: ID!) { serviceInstance(id: $id) { ${INSTANCE_FIELDS} } }`;

describe('discovery: the registry of running instances', () => {
  let discovery: Awaited<ReturnType<typeof startDiscovery>>;
  beforeAll(async () => {
    discovery = await startDiscovery();
  });
  afterAll(() => discovery.stop());

  const instance = async (id: string) =>
    (await discovery.exec<{ serviceInstance: Instance | null }>(INSTANCE, { id })).data?.serviceInstance ??
    null;
  const healthEvents = (instanceId: string) =>
    discovery.eventsOf('discovery.health.changed', instanceId).map((e) => e.data);

  it('registers a runtime instance from Kafka, links it to its agent and makes it HEALTHY at once', async () => {
    const { agentId, handle } = await discovery.knownAgent();
    const registration = discovery.runtimeRegistration(handle);
    await discovery.publishRegister(registration);

    const registered = await pollFor(async () => (await instance(registration.instanceId)) ?? undefined, {
      what: 'the instance to be registered',
    });
    expect(registered).toMatchObject({
      handle,
      source: 'RUNTIME',
      inbox: 'agents.inbox.rt-test',
      status: 'ACTIVE',
      agent: { id: agentId },
      health: { status: 'HEALTHY' },
      circuit: { state: 'CLOSED', preset: 'AGGRESSIVE' },
    });
    await pollFor(() => healthEvents(registration.instanceId).length === 1, { what: 'the health event' });
    expect(healthEvents(registration.instanceId)[0]).toMatchObject({
      agentId,
      from: 'UNKNOWN',
      to: 'HEALTHY',
      agentHealth: 'HEALTHY',
    });
    const changes = discovery.eventsOf('discovery.instance.changed', registration.instanceId);
    expect(changes[0]!.data).toMatchObject({ change: 'REGISTERED', instance: { health: 'HEALTHY' } });

    // The agent, as identity's entity, has its instances and health here.
    const entity = await discovery.exec<{ _entities: { instances: { id: string }[]; health: string }[] }>(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Agent { instances { id } health } } }`,
      { r: [{ __typename: 'Agent', id: agentId }] },
    );
    expect(entity.data?._entities).toEqual([
      { instances: [{ id: registration.instanceId }], health: 'HEALTHY' },
    ]);
  });

  it('links instances that registered before identity announced their agent', async () => {
    const handle = uniqueName('wow-early').toLowerCase();
    const registration = discovery.runtimeRegistration(handle);
    await discovery.publishRegister(registration);
    await pollFor(async () => (await instance(registration.instanceId)) ?? undefined);
    expect((await instance(registration.instanceId))!.agent).toBeNull();

    const { agentId } = await discovery.knownAgent({ handle });
    const linked = await pollFor(async () => (await instance(registration.instanceId))?.agent?.id);
    expect(linked).toBe(agentId);
    // Replicas (orchestration) hear of the link too.
    await pollFor(
      () =>
        discovery
          .eventsOf('discovery.instance.changed', registration.instanceId)
          .some((e) => (e.data.instance as { agentId: string | null }).agentId === agentId),
      { what: 'an instance.changed event with the agent id' },
    );
  });

  it('applies a heartbeat delivered twice once, and refuses heartbeats for unknown instances', async () => {
    const { handle } = await discovery.knownAgent();
    const registration = discovery.runtimeRegistration(handle);
    await discovery.publishRegister(registration);
    await pollFor(async () => (await instance(registration.instanceId)) ?? undefined);
    const beat = await discovery.outside.publish(
      discoveryMessages.instanceHeartbeat,
      { ...registration, load: { ...IDLE, errorRate: 0.3 }, ready: true, sentAt: new Date().toISOString() },
      { subject: registration.instanceId },
    );
    await discovery.outside.publishEnvelope(
      discoveryMessages.instanceHeartbeat.topic,
      beat,
      registration.instanceId,
    );
    await pollFor(async () => {
      const stored = await discovery.instances.findById(registration.instanceId).lean();
      return stored?.appliedEventIds.includes(beat.id) === true;
    });
    const stored = await discovery.instances.findById(registration.instanceId).lean();
    // Applied once: one bad observation pending, not two (which would have degraded it).
    expect(stored!.health).toMatchObject({ state: 'HEALTHY', pending: { state: 'DEGRADED', count: 1 } });

    const unknown = await discovery.exec(HEARTBEAT, { id: 'no-such-instance', load: IDLE });
    expect(unknown.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
  });

  it('registers an external instance through the API, selectable at once, operators only', async () => {
    const { agentId, handle } = await discovery.knownAgent({
      capabilities: [{ name: 'seo.audit-page', version: '2.1.0' }],
    });
    const input = { agentId, endpoint: 'https://agents.example.com/a2a', weight: 0.3, ttlSeconds: 20 };

    const forbidden = await discovery.exec(REGISTER, { input }, ['customer']);
    expect(forbidden.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    const bad = await discovery.exec(REGISTER, { input: { ...input, weight: 0 } });
    expect(bad.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(bad.errors?.[0]?.message).toMatch(/weight/);
    const stranger = await discovery.exec(REGISTER, { input: { ...input, agentId: randomUUID() } });
    expect(stranger.errors?.[0]?.extensions.code).toBe('NOT_FOUND');

    const ok = await discovery.exec<{ registerInstance: Instance }>(REGISTER, { input });
    expect(ok.errors).toBeUndefined();
    const created = ok.data!.registerInstance;
    expect(created).toMatchObject({
      handle,
      source: 'API',
      inbox: null,
      weight: 0.3,
      tier: 'STANDARD',
      health: { status: 'HEALTHY' },
    });
    const chosen = await discovery.exec<{ selectAgent: { id: string } }>(SELECT, {
      c: 'seo.audit-page',
      r: '^2',
    });
    expect(chosen.data?.selectAgent.id).toBe(created.id);

    const outOfRange = await discovery.exec(SELECT, { c: 'seo.audit-page', r: '^3' });
    expect(outOfRange.errors?.[0]?.extensions.code).toBe('NO_INSTANCE_AVAILABLE');
    const badRange = await discovery.exec(SELECT, { c: 'seo.audit-page', r: 'not a range' });
    expect(badRange.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
  });

  it('needs repeated bad heartbeats to degrade (hysteresis) and repeated good ones to recover', async () => {
    const { agentId } = await discovery.knownAgent();
    const created = (
      await discovery.exec<{ registerInstance: Instance }>(REGISTER, { input: { agentId, ttlSeconds: 60 } })
    ).data!.registerInstance;
    const beat = async (load: typeof IDLE) =>
      (await discovery.exec<{ heartbeat: Instance }>(HEARTBEAT, { id: created.id, load })).data!.heartbeat
        .health;
    const slow = { ...IDLE, latencyMs: 1500 };

    expect((await beat(slow)).status).toBe('HEALTHY'); // one blip
    expect((await beat(IDLE)).status).toBe('HEALTHY');
    expect((await beat(slow)).status).toBe('HEALTHY');
    const degraded = await beat(slow);
    expect(degraded).toMatchObject({ status: 'DEGRADED' });
    expect(degraded.reason).toMatch(/latency 1500 ms/);
    expect((await beat(IDLE)).status).toBe('DEGRADED');
    expect((await beat(IDLE)).status).toBe('DEGRADED');
    expect((await beat(IDLE)).status).toBe('HEALTHY');
    await pollFor(() => healthEvents(created.id).length === 3, { what: 'three health events' });
    expect(healthEvents(created.id).map((e) => `${String(e.from)}->${String(e.to)}`)).toEqual([
      'UNKNOWN->HEALTHY',
      'HEALTHY->DEGRADED',
      'DEGRADED->HEALTHY',
    ]);
  });

  it('turns a silent instance UNKNOWN after its TTL, then removes it after the grace period', async () => {
    const { agentId } = await discovery.knownAgent();
    const created = (
      await discovery.exec<{ registerInstance: Instance }>(REGISTER, { input: { agentId, ttlSeconds: 1 } })
    ).data!.registerInstance;
    await pollFor(() => healthEvents(created.id).some((e) => e.to === 'UNKNOWN'), {
      what: 'the UNKNOWN health event',
    });
    const unknown = healthEvents(created.id).find((e) => e.to === 'UNKNOWN')!;
    expect(unknown).toMatchObject({ from: 'HEALTHY', agentHealth: 'UNKNOWN' });
    expect(unknown.reason).toMatch(/no heartbeat/);

    await pollFor(async () => (await instance(created.id)) === null, { what: 'the instance to be removed' });
    await pollFor(
      () => discovery.eventsOf('discovery.instance.changed', created.id).at(-1)?.data.change === 'REMOVED',
      { what: 'the REMOVED event' },
    );
    // A runtime that comes back re-registers through its heartbeats and is healthy again.
    const heartbeat = await discovery.exec(HEARTBEAT, { id: created.id, load: IDLE });
    expect(heartbeat.errors?.[0]?.extensions.code).toBe('CONFLICT');
  });

  it('opens the circuit on failed attempts reported by orchestration, skips it, and closes it on reset', async () => {
    const { agentId } = await discovery.knownAgent({
      capabilities: [{ name: 'sales.score-lead', version: '1.0.0' }],
    });
    const register = async (instanceId: string) =>
      (
        await discovery.exec<{ registerInstance: Instance }>(REGISTER, {
          input: { agentId, instanceId, ttlSeconds: 60 },
        })
      ).data!.registerInstance;
    const failing = await register(uniqueName('failing'));
    const good = await register(uniqueName('good'));

    for (let attempt = 1; attempt <= 5; attempt++) {
      await discovery.outside.publish(
        orchestrationEvents.attemptFinished,
        {
          taskId: randomUUID(),
          attempt,
          instanceId: failing.id,
          agentId,
          capability: 'sales.score-lead',
          outcome: attempt === 5 ? 'TIMED_OUT' : 'FAILED',
          durationMs: 120,
          error: 'handler crashed',
          at: new Date().toISOString(),
        },
        { subject: failing.id },
      );
    }
    await pollFor(async () => (await instance(failing.id))?.circuit.state === 'OPEN', {
      what: 'the circuit to open',
    });
    const opened = await pollFor(
      () => {
        const events = discovery.eventsOf('discovery.circuit.changed', failing.id).map((e) => e.data);
        return events.length > 0 && events;
      },
      { what: 'the circuit event' },
    );
    expect(opened).toEqual([expect.objectContaining({ from: 'CLOSED', to: 'OPEN' })]);
    expect(opened[0]!.reason).toMatch(/failure rate 100%/);
    // On /metrics: the open breaker among the instances counted by state.
    const breakers = async (state: string) =>
      (await discovery.metrics.registry.getSingleMetric('waooaw_breaker_state')!.get()).values.find(
        (v) => v.labels.state === state,
      )?.value ?? 0;
    const openBefore = await breakers('OPEN');
    expect(openBefore).toBeGreaterThanOrEqual(1);

    for (let i = 0; i < 20; i++) {
      const chosen = await discovery.exec<{ selectAgent: { id: string } }>(SELECT, {
        c: 'sales.score-lead',
        s: i % 2 ? 'ROUND_ROBIN' : 'RANDOM',
      });
      expect(chosen.data?.selectAgent.id).toBe(good.id);
    }

    await discovery.exec(
      `mutation($id: ID!) { deregisterInstance(instanceId: $id, reason: "maintenance") { id } }`,
      {
        id: good.id,
      },
    );
    const none = await discovery.exec(SELECT, { c: 'sales.score-lead' });
    expect(none.errors?.[0]).toMatchObject({
      extensions: { code: 'NO_INSTANCE_AVAILABLE', circuitOpen: 1, instances: 1 },
    });
    expect(none.errors?.[0]?.message).toMatch(/1 circuitOpen/);

    const reset = await discovery.exec<{ resetCircuit: Instance }>(
      `mutation($id: ID!) { resetCircuit(instanceId: $id, reason: "fixed the handler") { ${INSTANCE_FIELDS} } }`,
      { id: failing.id },
    );
    expect(reset.data?.resetCircuit.circuit).toMatchObject({ state: 'CLOSED', calls: 0 });
    expect(await breakers('OPEN')).toBe(openBefore - 1);
    const back = await discovery.exec<{ selectAgent: { id: string } }>(SELECT, { c: 'sales.score-lead' });
    expect(back.data?.selectAgent.id).toBe(failing.id);
  });

  it('spreads WEIGHTED selections by weight and never picks instances of a suspended agent', async () => {
    const capability = `test.${uniqueName('cap').toLowerCase()}`;
    const { agentId } = await discovery.knownAgent({
      capabilities: [{ name: capability, version: '1.0.0' }],
    });
    const ids: Record<string, string> = {};
    for (const weight of [10, 1]) {
      ids[weight] = (
        await discovery.exec<{ registerInstance: Instance }>(REGISTER, { input: { agentId, weight } })
      ).data!.registerInstance.id;
    }
    const counts = new Map<string, number>();
    for (let i = 0; i < 22; i++) {
      const id = (
        await discovery.exec<{ selectAgent: { id: string } }>(SELECT, { c: capability, s: 'WEIGHTED' })
      ).data!.selectAgent.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect([counts.get(ids[10]!), counts.get(ids[1]!)]).toEqual([20, 2]);

    await discovery.outside.publish(
      identityEvents.agentLifecycleChanged,
      {
        agentId,
        handle: 'ignored',
        kind: 'CUSTOMER',
        category: 'MARKETING',
        from: 'ACTIVE',
        to: 'SUSPENDED',
        actor: 'op',
        reason: 'billing',
        at: new Date().toISOString(),
      },
      { subject: agentId },
    );
    await pollFor(async () => (await discovery.agents.findById(agentId).lean())?.status === 'SUSPENDED');
    const suspended = await discovery.exec(SELECT, { c: capability });
    expect(suspended.errors?.[0]?.extensions.code).toBe('NO_INSTANCE_AVAILABLE');
    expect(suspended.errors?.[0]?.message).toMatch(/not active/);
  });

  it('deregisters a runtime instance on its clean shutdown message', async () => {
    const { handle } = await discovery.knownAgent();
    const registration = discovery.runtimeRegistration(handle);
    await discovery.publishRegister(registration);
    await pollFor(async () => (await instance(registration.instanceId)) ?? undefined);
    await discovery.outside.publish(
      discoveryMessages.instanceDeregister,
      { instanceId: registration.instanceId, runtimeId: 'rt-test', reason: 'runtime stopping' },
      { subject: registration.instanceId },
    );
    const gone = await pollFor(async () => {
      const i = await instance(registration.instanceId);
      return i?.status === 'DEREGISTERED' && i;
    });
    expect(gone.health).toMatchObject({ status: 'UNKNOWN', reason: 'deregistered: runtime stopping' });
    const listed = await discovery.exec<{ serviceInstances: { edges: { node: { id: string } }[] } }>(
      `query($h: String!) { serviceInstances(filter: { handle: $h }) { edges { node { id } } } }`,
      { h: handle },
    );
    expect(listed.data?.serviceInstances.edges).toEqual([]);
  });
});
