import type { InstanceView } from '@waooaw/shared';
import { createEventBus } from '@waooaw/shared';
import { pollFor, testKafka, testLogger, uniqueName } from '@waooaw/shared/testing';
import type { Harness } from './harness';
import { startOrchestration, TASK_FIELDS } from './harness';

const SUBMIT = `mutation($input: SubmitTaskInput!) { submitTask(input: $input) { ${TASK_FIELDS} } }`;
const TASK = `query($id: ID!) { task(id: $id) { ${TASK_FIELDS} } }`;

type Exec = Harness['exec'];
type Process = Harness['server'];

/**
 * A rolling restart: the new orchestration process starts (same database, same consumer-group
 * prefix) before the old one stops. Each must hold the whole instance registry the whole time, and
 * so must the survivor and any process started later (issue 18: a shared group split the instance
 * events between the two, and the survivor never learned the other's share).
 */
describe('orchestration: instance replica across a rolling restart', () => {
  let o: Harness;
  // The raw admin names groups and topics as on the broker (in the run's namespace): see `bus`.
  const bus = createEventBus({ ...testKafka(), service: 'test', logger: testLogger() });
  const admin = bus.kafka.admin();
  beforeAll(async () => {
    o = await startOrchestration();
    await admin.connect();
  });
  afterAll(async () => {
    await admin.disconnect();
    await o.stop();
  });

  const cap = (i: number) =>
    `test.rolling-${i}-${uniqueName('c')
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '')}`;
  const ids = (p: Process) =>
    new Set(
      p.replica
        .byHandle('wow-scripted')
        .map((v) => v.instanceId)
        .filter((id) => id.startsWith(o.runtimeId)),
    );
  const holdsExactly = (p: Process, views: InstanceView[]) => {
    const held = ids(p);
    return held.size === views.length && views.every((v) => held.has(v.instanceId));
  };

  /** Submits a task of each capability through `exec` and waits for each to end; returns their final statuses. */
  async function runEach(exec: Exec, capabilities: string[]) {
    const submitted = await Promise.all(
      capabilities.map(async (capability) => {
        const res = await exec(SUBMIT, { input: { capability, input: { n: 1 } } });
        if (res.errors) throw new Error(JSON.stringify(res.errors));
        return (res.data as { submitTask: { id: string } }).submitTask.id;
      }),
    );
    return Promise.all(
      submitted.map((id) =>
        pollFor(
          async () => {
            const t = ((await exec(TASK, { id })).data as { task: { status: string; error: string | null } })
              .task;
            return ['COMPLETED', 'FAILED', 'REJECTED', 'CANCELED'].includes(t.status) && t;
          },
          { what: `task ${id} to finish` },
        ),
      ),
    );
  }

  const registryGroups = async () =>
    (await admin.listGroups()).groups
      .map((g) => g.groupId)
      .filter((id) => id.startsWith(bus.groupId(`${o.prefix}orchestration.registry`)));

  it('every process holds every instance, the survivor and a later process too, and dispatches each capability', async () => {
    const first = o.server;
    const second = await o.startAnother();
    // Nine capabilities, one instance each, keyed by instance id over the topic's three partitions:
    // a group shared by the two processes would give each only some of them.
    const capabilities = Array.from({ length: 9 }, (_, i) => cap(i));
    const views = capabilities.map((c) => o.instanceView([c]));
    const leaving = o.instanceView([cap(99)]);
    for (const v of [...views, leaving]) await o.announce(v);
    const all = [...views, leaving];
    await pollFor(() => holdsExactly(first, all) && holdsExactly(second.server, all), {
      what: 'both processes to hold every instance',
    });

    // Both dispatch every capability meanwhile (each process has the whole registry).
    for (const exec of [o.exec, second.exec])
      expect((await runEach(exec, capabilities)).map((t) => t.status)).toEqual(
        capabilities.map(() => 'COMPLETED'),
      );

    // The old process stops, and its group leaves the broker with it.
    const firstGroup = first.consumers[0]!.groupId;
    expect(await registryGroups()).toEqual(
      expect.arrayContaining([firstGroup, second.server.consumers[0]!.groupId]),
    );
    await o.handOver(second.server);
    expect(await registryGroups()).not.toContain(firstGroup);

    // The survivor still holds everything, hears what changes after, and runs every capability.
    expect(holdsExactly(second.server, all)).toBe(true);
    const late = o.instanceView([cap(100)]);
    await o.announce(late);
    await o.announce(leaving, 'DEREGISTERED');
    const now = [...views, late];
    await pollFor(() => holdsExactly(second.server, now), {
      what: 'the survivor to apply the later changes',
    });
    const statuses = await runEach(o.exec, [...capabilities, late.capabilities[0]!.name]);
    expect(statuses.map((t) => t.status)).toEqual([...capabilities, 'late'].map(() => 'COMPLETED'));
    const gone = (await runEach(o.exec, [leaving.capabilities[0]!.name]))[0]!;
    expect(gone.status).toBe('REJECTED');

    // A process that crashed earlier left its group behind (simulated: a group with an offset and no
    // member); the next process to start deletes it.
    const crashed = bus.groupId(`${o.prefix}orchestration.registry.crashed-${uniqueName('p')}`);
    await admin.setOffsets({
      groupId: crashed,
      topic: bus.topic('discovery.instance.changed'),
      partitions: [{ partition: 0, offset: '0' }],
    });
    expect(await registryGroups()).toContain(crashed);

    // A third process, started after, holds the registry as it is now from the moment it is up:
    // the deregistered instance stays gone, though the topic still carries its registration.
    // The survivor records how far the persisted replica is applied; the third process starts there.
    const positions = o.server.tasks.db.collection<{ partition: number; offset: number }>(
      'instance_positions',
    );
    const recorded = await positions.find({ topic: 'discovery.instance.changed' }).toArray();
    expect(recorded.length).toBeGreaterThan(0);
    const third = await o.startAnother();
    try {
      const startedAt = await third.server.replica.startAt();
      for (const r of recorded)
        expect(Number(startedAt.find((p) => p.partition === r.partition)?.offset)).toBeGreaterThanOrEqual(
          r.offset,
        );
      expect(holdsExactly(third.server, now)).toBe(true);
      const fromThird = await runEach(third.exec, [...capabilities, late.capabilities[0]!.name]);
      expect(fromThird.map((t) => t.status)).toEqual([...capabilities, 'late'].map(() => 'COMPLETED'));
      await pollFor(async () => !(await registryGroups()).includes(crashed), {
        what: 'the crashed process’s group to be deleted',
      });
    } finally {
      await third.server.service.stop();
    }
  });
  it('takes up a task no process looks after: stored SUBMITTED where no queue holds it', async () => {
    const capability = cap(200);
    const view = o.instanceView([capability]);
    await o.announce(view);
    await pollFor(() => ids(o.server).has(view.instanceId), { what: 'the instance known' });
    const [done] = await runEach(o.exec, [capability]);
    expect(done!.status).toBe('COMPLETED');
    // What a process leaves behind when MongoDB stored its write but the answer never came back (the
    // submitter saw an error), or when it stopped with the task in its queue: stored SUBMITTED, in
    // no process's memory, unchanged for a while.
    const raw = o.server.tasks.collection;
    const original = await raw.findOne({ status: 'COMPLETED', capability });
    const orphanId = `${String(original!._id)}-orphan`;
    const longAgo = new Date(Date.now() - 60_000);
    await raw.insertOne({
      ...original!,
      _id: orphanId,
      status: 'SUBMITTED',
      attempts: [],
      output: null,
      error: null,
      completedAt: null,
      outbox: [],
      createdAt: longAgo,
      updatedAt: longAgo,
    } as never);
    const finished = await pollFor(
      async () => {
        const t = ((await o.exec(TASK, { id: orphanId })).data as { task: { status: string } }).task;
        return t.status === 'COMPLETED' && t;
      },
      { what: 'the orphaned task taken up and run', timeoutMs: 45_000, intervalMs: 250 },
    );
    expect(finished.status).toBe('COMPLETED');
  }, 90_000);
});
