import mongoose from 'mongoose';
import { orchestrationEvents } from '@waooaw/shared';
import { collectEvents, connectTestBus, pollFor, testInfra, testNamespace } from '@waooaw/shared/testing';
import { postGraphQL, tokenFor } from '../gateway';
import { startPlatformWithRuntime } from '../platform';

type Platform = Awaited<ReturnType<typeof startPlatformWithRuntime>>;

interface InstanceNode {
  id: string;
  runtimeId: string | null;
  agent: { id: string } | null;
}

const HANDLE = 'wow-math-mentor';
const CAPABILITY = 'tutoring.solve-problem';

/**
 * Two whole platforms (discovery, identity and factory with the catalogue, orchestration, a gateway
 * and an agents runtime) on the same Kafka broker and MongoDB server, in two namespaces
 * (WAOOAW_NAMESPACE): like `npm start` and `npm test` side by side, or two developers on one broker.
 * Without namespaces they share every topic: each discovery hears the other's runtime, each
 * orchestration may dispatch to it, and the other's events land in its projections.
 */
describe('two platforms in two namespaces on one Kafka and one MongoDB', () => {
  // Under the run's own namespace, so other test runs on the same servers stay apart too.
  const namespaces = [testNamespace('a'), testNamespace('b')] as const;
  let platforms: Platform[] = [];
  let operator: string;

  beforeAll(async () => {
    operator = await tokenFor(['operator'], 'ops-namespaces');
    platforms = await Promise.all(
      namespaces.map((namespace) =>
        startPlatformWithRuntime({ orchestration: true, namespace, fleet: { handles: [HANDLE] } }),
      ),
    );
    // Each orchestration dispatches once its discovery has told it about its runtime's instance.
    await Promise.all(
      platforms.map(({ orchestration, runtime }) =>
        pollFor(
          () =>
            orchestration!.replica
              .offering(CAPABILITY, null)
              .some((v) => v.runtimeId === runtime.runtimeId && v.agentId !== null),
          { what: 'orchestration to know its runtime instance', timeoutMs: 100_000, intervalMs: 250 },
        ),
      ),
    );
  }, 180_000);
  afterAll(async () => {
    await Promise.all(platforms.map((p) => p.stop()));
  });

  const gql = <T>(platform: Platform, query: string, variables: Record<string, unknown> = {}) =>
    postGraphQL<T>(platform.gateway.httpUrl, query, variables, operator);

  const agentIds = async (platform: Platform) =>
    new Set(
      (
        await gql<{ agents: { edges: { node: { id: string } }[] } }>(
          platform,
          '{ agents(first: 100) { edges { node { id } } } }',
        )
      ).body.data!.agents.edges.map((e) => e.node.id),
    );

  const instances = async (platform: Platform) =>
    (
      await gql<{ serviceInstances: { edges: { node: InstanceNode }[] } }>(
        platform,
        '{ serviceInstances(first: 100) { edges { node { id runtimeId agent { id } } } } }',
      )
    ).body.data!.serviceInstances.edges.map((e) => e.node);

  it('each lists only its own agents and instances', async () => {
    const [a, b] = platforms as [Platform, Platform];
    const [idsA, idsB] = await Promise.all([agentIds(a), agentIds(b)]);
    // Both loaded the catalogue, each into its own identity: the same handles, other agents.
    expect(idsA.size).toBeGreaterThan(0);
    expect(idsB.size).toBe(idsA.size);
    expect([...idsA].filter((id) => idsB.has(id))).toEqual([]);

    // Heartbeats and registrations travel on each namespace's topics only: a discovery knows its own
    // runtime's instance, linked to its own identity's agent, and nothing of the other platform.
    for (const [own, other, ownIds] of [
      [a, b, idsA],
      [b, a, idsB],
    ] as const) {
      const listed = await pollFor(
        async () => {
          const nodes = await instances(own);
          return nodes.length > 0 && nodes.every((n) => n.agent !== null) && nodes;
        },
        { what: 'the instances linked to their agents' },
      );
      expect(listed.map((n) => n.runtimeId)).toEqual([own.runtime.runtimeId]);
      expect(ownIds.has(listed[0]!.agent!.id)).toBe(true);
      expect(listed.some((n) => n.runtimeId === other.runtime.runtimeId)).toBe(false);
    }
  });

  it('a task submitted to one is run there and never reaches the other: not its topics, not its databases', async () => {
    const [a, b] = platforms as [Platform, Platform];
    const [eventsA, eventsB] = await Promise.all([
      collectEvents([orchestrationEvents.taskUpdated.topic], namespaces[0]),
      collectEvents([orchestrationEvents.taskUpdated.topic], namespaces[1]),
    ]);
    try {
      const submitted = await gql<{ submitTask: { id: string } }>(
        a,
        'mutation($input: SubmitTaskInput!) { submitTask(input: $input) { id } }',
        { input: { capability: CAPABILITY, input: { request: 'Solve 2x + 4 = 10' } } },
      );
      expect(submitted.body.errors).toBeUndefined();
      const taskId = submitted.body.data!.submitTask.id;
      const task = (platform: Platform) =>
        gql<{ task: { status: string; agent: { id: string } | null } | null }>(
          platform,
          'query($id: ID!) { task(id: $id) { status agent { id } } }',
          { id: taskId },
        );
      const done = await pollFor(
        async () => {
          const t = (await task(a)).body.data?.task;
          return t?.status === 'COMPLETED' && t;
        },
        { what: 'the task to complete in its platform', timeoutMs: 30_000 },
      );
      expect((await agentIds(a)).has(done.agent!.id)).toBe(true);
      // Its updates are on its namespace's topic (all of them, up to COMPLETED) ...
      await pollFor(
        () =>
          eventsA
            .events(orchestrationEvents.taskUpdated.type, taskId)
            .some((e) => e.data.status === 'COMPLETED'),
        { what: "the task's updates on its own topic" },
      );
      // ... and, with everything of it already published, none is on the other's, which does not know it.
      expect(eventsB.events(orchestrationEvents.taskUpdated.type, taskId)).toEqual([]);
      const unknown = await task(b);
      expect(unknown.body.data?.task ?? null).toBeNull();

      // The MongoDB databases: each platform's carry its namespace, and none of the other's holds
      // anything of the task.
      const client = mongoose.createConnection(testInfra().mongoUrl);
      try {
        await client.asPromise();
        const { databases } = await client.db!.admin().listDatabases();
        const names = databases.map((d) => d.name);
        const of = (ns: string) => names.filter((n) => n.startsWith(`${ns}_`));
        expect(of(namespaces[0]).length).toBeGreaterThanOrEqual(5);
        expect(of(namespaces[1]).length).toBe(of(namespaces[0]).length);
        const mentions = async (dbName: string) => {
          // Documents of any shape: the platform's ids are strings, not ObjectIds.
          const db = client.useDb(dbName, { useCache: false }).db!;
          let found = 0;
          for (const { name } of await db.listCollections().toArray())
            found += await db
              .collection<{ _id: string; taskId?: string }>(name)
              .countDocuments({ $or: [{ _id: taskId }, { taskId }] });
          return found;
        };
        const inA = await Promise.all(of(namespaces[0]).map(mentions));
        const inB = await Promise.all(of(namespaces[1]).map(mentions));
        expect(inA.reduce((x, y) => x + y, 0)).toBeGreaterThan(0);
        expect(inB.reduce((x, y) => x + y, 0)).toBe(0);
      } finally {
        await client.close();
      }

      // On the broker, each platform's topics carry its namespace; both have their own task topic.
      const { admin, close } = await connectTestBus('namespaces-test');
      try {
        const topics = await admin.listTopics();
        for (const ns of namespaces)
          expect(topics).toContain(`${ns}.${orchestrationEvents.taskUpdated.topic}`);
      } finally {
        await close();
      }
    } finally {
      await Promise.all([eventsA.stop(), eventsB.stop()]);
    }
  });
});
