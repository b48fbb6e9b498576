import type { KafkaMessage } from 'kafkajs';
import type { Model } from 'mongoose';
import { Schema } from 'mongoose';
import { z } from 'zod';
import type { Envelope, EventBus, OutboxDocument } from '../index';
import { defineEvent, outboxSchemaFields } from '../index';
import type { testDatabase } from '../testing';
import { collectTopic, pollFor, uniqueName } from '../testing';

/** The documents of the outbox tests: an order whose changes of status are events. */
export type OrderDoc = OutboxDocument & { _id: string; status: string };

const SENTINEL = 'end-of-test';

/**
 * An order collection and a one-partition topic of their own, so tests (and their relays) do not
 * meet and the order of events on the topic is the order they were published in; with every
 * envelope published on the topic, and a document as stored. `createTopic` makes the topic (by
 * default through the bus; a test wanting a topic setting makes it with an admin).
 */
export async function orderOutbox(
  env: {
    bus: EventBus;
    db: Awaited<ReturnType<typeof testDatabase>>;
    /** Where the topic's reader is registered to be stopped after the tests. */
    stops: (() => Promise<void>)[];
  },
  createTopic: (topic: string) => Promise<void> = (topic) => env.bus.ensureTopics([{ topic, partitions: 1 }]),
) {
  const name = uniqueName('order').replace(/[^a-z0-9-]/g, '');
  const Order: Model<OrderDoc> = env.db.connection.model<OrderDoc>(
    name,
    new Schema<OrderDoc>({ _id: String, status: String, ...outboxSchemaFields }),
  );
  const changed = defineEvent(`test.${name}.changed`, z.object({ status: z.string() }));
  await createTopic(changed.topic);
  const collector = await collectTopic(changed.topic);
  env.stops.push(collector.stop);

  /** Every envelope on the topic, read once a marker sent after the test's publishes has arrived. */
  const published = async () => {
    await env.bus.sendRaw(changed.topic, [{ key: SENTINEL, value: SENTINEL }]);
    await pollFor(() => collector.messages.some((m: KafkaMessage) => m.key?.toString() === SENTINEL), {
      what: 'the end marker',
    });
    return collector.messages
      .filter((m) => m.key?.toString() !== SENTINEL)
      .map((m) => JSON.parse(m.value!.toString()) as Envelope<Record<string, unknown>>);
  };
  const doc = async (id: string) => (await Order.findById(id).lean())!;
  return { Order, changed, published, doc };
}
