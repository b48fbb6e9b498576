import type { Model } from 'mongoose';
import { Schema } from 'mongoose';
import { z } from 'zod';
import type { Envelope, EventBus, OutboxDocument } from '../index';
import { createEventBus, createOutboxRelay, defineEvent, outboxEntry, outboxSchemaFields } from '../index';
import { collectTopic, pollFor, testDatabase, testKafka, testLogger, uniqueName } from '../testing';

describe('document outbox relay', () => {
  let bus: EventBus;
  type ProfileDoc = OutboxDocument & { _id: string; name: string };
  let db: Awaited<ReturnType<typeof testDatabase>>;
  let Profile: Model<ProfileDoc>;
  const renamed = defineEvent(
    `test.${uniqueName('profile').toLowerCase()}.renamed`,
    z.object({ name: z.string() }),
  );

  beforeAll(async () => {
    bus = createEventBus({ ...testKafka(), service: 'outbox-test', logger: testLogger() });
    await bus.ensureTopics([renamed.topic]);
    db = await testDatabase('outbox');
    Profile = db.connection.model<ProfileDoc>(
      'Profile',
      new Schema<ProfileDoc>({ _id: String, name: String, ...outboxSchemaFields }),
    );
  });
  afterAll(async () => {
    await bus.disconnect();
    await db.drop();
  });

  it('publishes an event written with the state change after the writer died before publishing', async () => {
    const model = Profile;
    const topic = await collectTopic(renamed.topic);
    // The writer changes state and records the event in one single-document update ... then dies.
    const entry = outboxEntry(bus, renamed, { name: 'Ada' }, { subject: 'p-1' });
    await model.create({ _id: 'p-1', name: 'Ada', outbox: [entry] });

    // A new process starts its relay.
    const relay = createOutboxRelay({ models: [model], bus, logger: testLogger(), intervalMs: 50 });
    relay.start();
    try {
      const [message] = await pollFor(() => topic.messages.length === 1 && topic.messages, {
        what: 'the relayed event',
      });
      const envelope = JSON.parse(message!.value!.toString()) as Envelope;
      expect(envelope).toMatchObject({
        id: entry.id,
        type: renamed.type,
        subject: 'p-1',
        data: { name: 'Ada' },
      });
      expect(message!.key!.toString()).toBe('p-1');
      await pollFor(
        async () => ((await model.findById('p-1').lean())!.outbox.length === 0 ? true : undefined),
        {
          what: 'the outbox entry to be marked sent',
        },
      );
    } finally {
      await relay.stop();
      await topic.stop();
    }
  });

  it('keeps empty objects in event data through the outbox (a task whose input is {})', async () => {
    const configured = defineEvent(
      `test.${uniqueName('settings').toLowerCase()}.changed`,
      z.object({ settings: z.record(z.string(), z.unknown()), nested: z.object({ inner: z.unknown() }) }),
    );
    await bus.ensureTopics([configured.topic]);
    const topic = await collectTopic(configured.topic);
    await Profile.create({ _id: 'p-empty', name: 'Empty', outbox: [] });
    const entry = outboxEntry(
      bus,
      configured,
      { settings: {}, nested: { inner: {} } },
      { subject: 'p-empty' },
    );
    await Profile.updateOne({ _id: 'p-empty' }, { $push: { outbox: entry } });
    const relay = createOutboxRelay({ models: [Profile], bus, logger: testLogger(), intervalMs: 50 });
    relay.start();
    try {
      const [message] = await pollFor(() => topic.messages.length === 1 && topic.messages, {
        what: 'the event',
      });
      expect((JSON.parse(message!.value!.toString()) as Envelope).data).toEqual({
        settings: {},
        nested: { inner: {} },
      });
    } finally {
      await relay.stop();
      await topic.stop();
    }
  });

  it('re-publishes with the same event id when it died between publishing and marking sent', async () => {
    const model = Profile;
    const topic = await collectTopic(renamed.topic);
    const first = outboxEntry(bus, renamed, { name: 'Grace' }, { subject: 'p-2' });
    const second = outboxEntry(bus, renamed, { name: 'Grace H.' }, { subject: 'p-2' });
    await model.create({ _id: 'p-2', name: 'Grace H.', outbox: [first, second] });

    // The first relay publishes the first event, then its process dies before recording anything.
    let calls = 0;
    const dying = createOutboxRelay({
      models: [model],
      logger: testLogger(),
      bus: {
        publishEnvelope: async (t, envelope, key) => {
          if (++calls === 1) {
            await bus.publishEnvelope(t, envelope, key);
            throw new Error('process killed');
          }
        },
      },
      lockMs: 1, // its lock expires at once, as a dead process's would
    });
    await expect(dying.flush()).rejects.toThrow('process killed');

    const relay = createOutboxRelay({ models: [model], bus, logger: testLogger(), intervalMs: 50 });
    relay.start();
    try {
      const p2 = () =>
        topic.messages
          .map((m) => JSON.parse(m.value!.toString()) as Envelope)
          .filter((e) => e.subject === 'p-2');
      const events = await pollFor(() => p2().length === 3 && p2(), { what: 'three deliveries' });
      // At-least-once: the first event twice with the same id (consumers dedupe on it), in order.
      expect(events.map((e) => e.id)).toEqual([first.id, first.id, second.id]);
      await pollFor(async () =>
        (await model.findById('p-2').lean())!.outbox.length === 0 ? true : undefined,
      );
    } finally {
      await relay.stop();
      await topic.stop();
    }
  });
});
