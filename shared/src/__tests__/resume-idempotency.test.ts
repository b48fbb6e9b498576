import { Schema } from 'mongoose';
import { z } from 'zod';
import type { EventBus } from '../index';
import { appliedEventsSchemaFields, applyOnce, createEventBus, defineEvent, on } from '../index';
import { pollFor, testDatabase, testKafka, testLogger, uniqueName } from '../testing';

/**
 * At-least-once delivery made safe: a consumer restarted mid-stream resumes from its committed
 * offset, and when Kafka re-delivers (here: offsets rewound as after a crash before commit, plus a
 * duplicate publish), the idempotent handler still applies each event once.
 */
describe('consumer restart and idempotent handling', () => {
  let bus: EventBus;
  let db: Awaited<ReturnType<typeof testDatabase>>;

  beforeAll(async () => {
    bus = createEventBus({ ...testKafka(), service: 'resume-test', logger: testLogger() });
    db = await testDatabase('resume');
  });
  afterAll(async () => {
    await bus.disconnect();
    await db.drop();
  });

  it('resumes from the committed offset and applies each event exactly once', async () => {
    const Account = db.connection.model(
      'Account',
      new Schema({ _id: String, balance: { type: Number, default: 0 }, ...appliedEventsSchemaFields }),
    );
    await Account.create({ _id: 'acc-1', balance: 0 });
    const deposited = defineEvent(
      `test.${uniqueName('acct').toLowerCase()}.deposited`,
      z.object({ amount: z.number() }),
    );
    const topic = deposited.topic;
    await bus.ensureTopics([{ topic, partitions: 1 }]);
    const groupId = uniqueName('ledger');
    const seen: number[] = [];
    const handler = on(deposited, async (data, envelope) => {
      seen.push(data.amount);
      await applyOnce(Account, { _id: 'acc-1' }, envelope.id, { $inc: { balance: data.amount } });
    });

    const ids: string[] = [];
    for (let i = 1; i <= 10; i++)
      ids.push((await bus.publish(deposited, { amount: i }, { subject: 'acc-1' })).id);

    const first = bus.consumer({ groupId, handlers: [handler] });
    await first.start();
    await pollFor(() => seen.length >= 10, { what: 'the first ten events' });
    await first.stop(); // commits what it handled

    // The raw admin speaks of the group and topic as on the broker (in the run's namespace).
    const admin = bus.kafka.admin();
    await admin.connect();
    const committed = await admin.fetchOffsets({ groupId: bus.groupId(groupId), topics: [bus.topic(topic)] });
    expect(committed[0]!.partitions[0]!.offset).toBe('10');

    // More events while no consumer runs, plus Kafka-style duplicates: the same event again.
    for (let i = 11; i <= 20; i++) await bus.publish(deposited, { amount: i }, { subject: 'acc-1' });
    const fourth = ids[3]!;
    await bus.sendRaw(topic, [
      {
        key: 'acc-1',
        value: JSON.stringify({
          specversion: '1.0',
          id: fourth,
          source: '/waooaw/resume-test',
          type: deposited.type,
          time: new Date().toISOString(),
          data: { amount: 4 },
        }),
      },
    ]);
    // A crash between handling and committing: the group's offset is behind what was applied.
    await admin.setOffsets({
      groupId: bus.groupId(groupId),
      topic: bus.topic(topic),
      partitions: [{ partition: 0, offset: '7' }],
    });
    await admin.disconnect();

    seen.length = 0;
    const second = bus.consumer({ groupId, handlers: [handler] });
    await second.start();
    await pollFor(() => seen.length >= 3 + 10 + 1, { what: 'the re-delivered and new events' });
    await second.stop();

    // It resumed at the committed offset (7), not from the beginning ...
    expect(seen.slice(0, 3)).toEqual([8, 9, 10]);
    expect(seen).toHaveLength(14);
    // ... and every deposit counted once: 1 + 2 + ... + 20.
    const account = await Account.findById('acc-1').lean();
    expect(account!.balance).toBe(210);
  });
});
