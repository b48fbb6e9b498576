import type { Admin } from 'kafkajs';
import { z } from 'zod';
import type { EventBus, TopicPosition } from '../index';
import { defineEvent, deleteIdleGroups, on, processGroupId } from '../index';
import { connectTestBus, pollFor, testLogger, uniqueName, uniqueTopic } from '../testing';

const stepSchema = z.object({ seq: z.number().int() });

/** The groups of one process that rebuild a view: where they start, what they report, and their removal. */
describe('process-own consumer groups against a real Kafka broker', () => {
  let bus: EventBus;
  let admin: Admin;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ bus, admin, close } = await connectTestBus('process-groups-test'));
  });

  afterAll(async () => {
    await close();
  });

  const groupIds = async () => (await admin.listGroups()).groups.map((g) => g.groupId);

  it('starts at the positions given, reports what it commits, and deletes its group on stop', async () => {
    const stepped = defineEvent(uniqueTopic('process-groups', 'stepped'), stepSchema);
    await bus.ensureTopics([{ topic: stepped.topic, partitions: 1 }]);
    for (let seq = 0; seq < 5; seq++) await bus.publish(stepped, { seq }, { subject: `k${seq}` });

    const base = uniqueName('view');
    const groupId = processGroupId(base);
    expect(groupId.startsWith(`${base}.`)).toBe(true);
    expect(processGroupId(base)).not.toBe(groupId); // a new group at every start
    const handled: number[] = [];
    const reported: TopicPosition[] = [];
    const consumer = bus.consumer({
      groupId,
      handlers: [on(stepped, async (data) => void handled.push(data.seq))],
      // The snapshot has every message before offset 3: the group reads only what follows.
      startAt: () => Promise.resolve([{ topic: stepped.topic, partition: 0, offset: '3' }]),
      onCommit: async (positions) => void reported.push(...positions),
      deleteGroupOnStop: true,
    });
    await consumer.start();
    await consumer.joined();
    await bus.publish(stepped, { seq: 5 }, { subject: 'k5' });
    await pollFor(() => handled.length === 3, { what: 'the messages after the start position' });
    expect(handled).toEqual([3, 4, 5]);
    await pollFor(() => reported.some((p) => p.offset === '6'), { what: 'the position after them reported' });
    expect(reported.every((p) => p.topic === stepped.topic && p.partition === 0)).toBe(true);
    // On the broker the group carries the run's namespace (the bus adds it).
    expect(consumer.groupId).toBe(bus.groupId(groupId));
    expect(await groupIds()).toContain(consumer.groupId);

    await consumer.stop();
    expect(await groupIds()).not.toContain(consumer.groupId);
  });

  it('deletes the groups stopped processes left behind, never one with a member', async () => {
    const stepped = defineEvent(uniqueTopic('process-groups', 'idle'), stepSchema);
    await bus.ensureTopics([{ topic: stepped.topic, partitions: 1 }]);
    const base = uniqueName('view');
    // The raw admin names groups and topics as on the broker (in the run's namespace).
    const physicalBase = bus.groupId(base);
    // A process killed without deleting its group: committed offsets, no member.
    const left = `${physicalBase}.crashed`;
    await admin.setOffsets({
      groupId: left,
      topic: bus.topic(stepped.topic),
      partitions: [{ partition: 0, offset: '0' }],
    });
    const live = bus.consumer({
      groupId: processGroupId(base),
      handlers: [on(stepped, async () => undefined)],
    });
    await live.start();
    await live.joined();
    // Another base with the same beginning is not ours.
    const other = `${physicalBase}-other.crashed`;
    await admin.setOffsets({
      groupId: other,
      topic: bus.topic(stepped.topic),
      partitions: [{ partition: 0, offset: '0' }],
    });

    expect(await deleteIdleGroups(bus.kafka, physicalBase, testLogger())).toEqual([left]);
    const after = await groupIds();
    expect(after).not.toContain(left);
    expect(after).toContain(live.groupId);
    expect(after).toContain(other);
    await live.stop();
    await admin.deleteGroups([live.groupId, other]);
  });
});
