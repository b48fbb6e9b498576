import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { pollFor, testInfra, uniqueName } from '@waooaw/shared/testing';
import { catalogue } from '@waooaw/agents/runtime';
import { postGraphQL, tokenFor } from '../gateway';
import { startPlatformWithRuntime } from '../platform';

const RUNTIME_MAIN = path.resolve(__dirname, '../../../agents/dist/src/runtime/main.js');

interface InstanceNode {
  id: string;
  runtimeId: string | null;
  status: string;
  health: { status: string; reason: string };
}

describe('discovery through the gateway, with agents runtimes', () => {
  let started: Awaited<ReturnType<typeof startPlatformWithRuntime>>;
  let gateway: Awaited<ReturnType<typeof startPlatformWithRuntime>>['gateway'];
  let runtime: Awaited<ReturnType<typeof startPlatformWithRuntime>>['runtime'];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    started = await startPlatformWithRuntime();
    ({ gateway, runtime } = started);
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await started.stop();
  });

  const gql = <T>(query: string, variables: Record<string, unknown> = {}, auth?: string) =>
    postGraphQL<T>(gateway.httpUrl, query, variables, auth);
  const agentId = async (handle: string) =>
    (
      await gql<{ agentByHandle: { id: string } }>(
        `query($h: String!) { agentByHandle(handle: $h) { id } }`,
        { h: handle },
      )
    ).body.data!.agentByHandle.id;
  const instancesOf = async (runtimeId: string, status = 'ACTIVE') =>
    (
      await gql<{ serviceInstances: { edges: { node: InstanceNode }[] } }>(
        `query($r: String!, $s: InstanceStatus) { serviceInstances(filter: { runtimeId: $r, status: $s }) {
          edges { node { id runtimeId status health { status reason } } } } }`,
        { r: runtimeId, s: status },
      )
    ).body.data!.serviceInstances.edges.map((e) => e.node);

  /** A runtime as its own process (the built one `npm start` runs), hosting the given agents. */
  async function runtimeProcess(handles: string[]) {
    if (!existsSync(RUNTIME_MAIN)) throw new Error(`${RUNTIME_MAIN} is missing: run \`npm run build\` first`);
    const runtimeId = uniqueName('rt-proc');
    const child = spawn(
      process.execPath,
      [RUNTIME_MAIN, '--agents', handles.join(','), '--runtime-id', runtimeId],
      {
        env: {
          ...process.env,
          KAFKA_BROKERS: testInfra().brokers.join(','),
          WAOOAW_NAMESPACE: testInfra().namespace,
          HEARTBEAT_INTERVAL_MS: '300',
          INSTANCE_TTL_SECONDS: '2',
          PORT: '0',
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    children.push(child);
    const healthy = await pollFor(
      async () => {
        const nodes = await instancesOf(runtimeId);
        return nodes.length === handles.length && nodes.every((n) => n.health.status === 'HEALTHY') && nodes;
      },
      { what: `the instances of runtime ${runtimeId} to be HEALTHY`, timeoutMs: 30_000 },
    );
    return { child, runtimeId, instances: healthy };
  }

  it('gives every one of the 33 catalogue agents a HEALTHY instance, visible on the agent', async () => {
    // Other test files register agents in the same Kafka, so look at this runtime's instances, and
    // through them at the agents (identity's fields and discovery's health on one Agent).
    type Node = {
      id: string;
      health: { status: string };
      agent: { handle: string; status: string; health: string } | null;
    };
    const instances = await pollFor(
      async () => {
        const res = await gql<{ serviceInstances: { totalCount: number; edges: { node: Node }[] } }>(
          `query($r: String!) { serviceInstances(filter: { runtimeId: $r }, first: 100) { totalCount
            edges { node { id health { status } agent { handle status health } } } } }`,
          { r: runtime.runtimeId },
        );
        const list = res.body.data?.serviceInstances;
        return (
          list?.totalCount === 33 &&
          list.edges.every(
            (e) =>
              e.node.health.status === 'HEALTHY' &&
              e.node.agent?.status === 'ACTIVE' &&
              e.node.agent.health === 'HEALTHY',
          ) &&
          list.edges.map((e) => e.node)
        );
      },
      // The whole catalogue is built and registered first: allow for a busy machine.
      { what: 'all 33 agents to have a HEALTHY instance', timeoutMs: 100_000, intervalMs: 250 },
    );
    expect(instances.map((i) => i.agent!.handle).sort()).toEqual(
      catalogue.map((c) => c.manifest.handle).sort((a, b) => a.localeCompare(b)),
    );

    // An instance can be chosen for any catalogue capability right away.
    const chosen = await gql<{ selectAgent: { handle: string; inbox: string; health: { status: string } } }>(
      `{ selectAgent(capability: "tutoring.solve-problem", versionRange: "^1") { handle inbox health { status } } }`,
    );
    expect(chosen.body.errors).toBeUndefined();
    expect(chosen.body.data!.selectAgent).toMatchObject({
      inbox: runtime.inbox,
      health: { status: 'HEALTHY' },
    });
  }, 120_000);

  it('tells a subscriber when an API instance with a short TTL stops heartbeating and turns UNKNOWN', async () => {
    const operator = await tokenFor(['operator'], 'ops-disc');
    const id = await agentId('wow-math-mentor');
    const instanceId = uniqueName('external');
    const client = createClient({
      url: gateway.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${operator}` },
      retryAttempts: 0,
    });
    type HealthEvent = {
      instanceId: string;
      from: string;
      to: string;
      agentHealth: string;
      reason: string;
      agent: { handle: string; status: string } | null;
      instance: { id: string; ttlSeconds: number } | null;
    };
    const received: HealthEvent[] = [];
    const heard = await gateway.whenListening();
    const iterator = client.iterate<{ agentHealthChanged: HealthEvent }>({
      query: `subscription($id: ID) { agentHealthChanged(agentId: $id) {
        instanceId from to agentHealth reason agent { handle status } instance { id ttlSeconds } } }`,
      variables: { id },
    });
    const listening = (async () => {
      for await (const result of iterator) {
        if (result.errors) throw new Error(JSON.stringify(result.errors));
        const event = result.data!.agentHealthChanged;
        if (event.instanceId !== instanceId) continue;
        received.push(event);
        if (event.to === 'UNKNOWN') break;
      }
    })();
    try {
      await heard(); // the instance's health changes once the subscription hears the feed
      const registered = await gql<{ registerInstance: { id: string; health: { status: string } } }>(
        `mutation($input: RegisterInstanceInput!) { registerInstance(input: $input) { id health { status } } }`,
        { input: { agentId: id, instanceId, ttlSeconds: 1.5, endpoint: 'https://partner.example.com/a2a' } },
        operator,
      );
      expect(registered.body.errors).toBeUndefined();
      expect(registered.body.data!.registerInstance.health.status).toBe('HEALTHY');
      await listening;
    } finally {
      await client.dispose();
    }
    expect(received.map((e) => `${e.from}->${e.to}`)).toEqual(['UNKNOWN->HEALTHY', 'HEALTHY->UNKNOWN']);
    expect(received[1]).toMatchObject({
      // The runtime's instance of the same agent is still there, so the agent stays HEALTHY.
      agentHealth: 'HEALTHY',
      agent: { handle: 'wow-math-mentor', status: 'ACTIVE' },
      instance: { id: instanceId, ttlSeconds: 1.5 },
    });
    expect(received[1]!.reason).toMatch(/no heartbeat/);
  });

  it('notices a killed runtime process through its missing heartbeats', async () => {
    const { child, runtimeId } = await runtimeProcess(['wow-pipe-sdr', 'wow-rank-commerce']);
    child.kill('SIGKILL');
    const unknown = await pollFor(
      async () => {
        const nodes = await instancesOf(runtimeId);
        return nodes.length === 2 && nodes.every((n) => n.health.status === 'UNKNOWN') && nodes;
      },
      { what: 'the killed runtime’s instances to turn UNKNOWN', timeoutMs: 20_000 },
    );
    for (const node of unknown) expect(node.health.reason).toMatch(/no heartbeat/);
  });

  it('deregisters a runtime process’s instances when it stops cleanly', async () => {
    const { child, runtimeId } = await runtimeProcess(['wow-pipe-sdr']);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const gone = await pollFor(
      async () => {
        const nodes = await instancesOf(runtimeId, 'DEREGISTERED');
        return nodes.length === 1 && nodes;
      },
      { what: 'the instance to be deregistered' },
    );
    expect(gone[0]!.health).toEqual({ status: 'UNKNOWN', reason: 'deregistered: runtime stopping' });
    expect(await instancesOf(runtimeId)).toEqual([]);
  });
});
