import { Schema } from 'mongoose';
import { z } from 'zod';
import type { EventBus, PlatformMetrics } from '../index';
import {
  boundedLabel,
  createEventBus,
  createMetrics,
  defineEvent,
  on,
  outboxBacklog,
  outboxSchemaFields,
  TransientError,
  scrapeRead,
} from '../index';
import type { TestDatabase } from '../testing';
import { pollFor, testDatabase, testInfra, testLogger, uniqueName, uniqueTopic } from '../testing';
import { quickRetries, quickWaits } from './consumer-harness';

/**
 * The value of the series of `name` with (at least) `labels`, as /metrics shows it: the scrape's text
 * parsed back, since that is what Prometheus reads.
 */
async function scraped(
  metrics: PlatformMetrics,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const text = await metrics.registry.metrics();
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const has = new Map([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => has.get(k) === v)) return Number(match[3]);
  }
  return undefined;
}

describe('the metrics an operator reads', () => {
  describe('consumers: lag per partition, handler time and errors per event type', () => {
    let metrics: PlatformMetrics;
    let bus: EventBus;

    beforeAll(async () => {
      metrics = createMetrics('operator-metrics-test');
      bus = createEventBus({
        brokers: testInfra().brokers,
        service: 'operator-metrics-test',
        logger: testLogger(),
        metrics,
      });
      await bus.connect();
    });

    afterAll(() => bus.disconnect());

    it('reports the lag while a message waits, 0 once all is handled, and counts each try of the handler', async () => {
      const stepped = defineEvent(uniqueTopic('lag', 'stepped'), z.object({ seq: z.number().int() }));
      await bus.ensureTopics([{ topic: stepped.topic, partitions: 1 }]);
      for (let seq = 0; seq < 5; seq++) await bus.publish(stepped, { seq }, { subject: 'k' });
      let outage = true;
      let failedOnce = false;
      const handled: number[] = [];
      const consumer = bus.consumer({
        groupId: uniqueName('lag'),
        retryBackoff: quickRetries,
        waitBackoff: quickWaits,
        handlers: [
          on(stepped, async ({ seq }) => {
            // seq 1 fails once for good reason (a permanent failure, retried in place); seq 3 waits
            // for a dependency (transient: its partition pauses with 3 and 4 unhandled).
            if (seq === 1 && !failedOnce) {
              failedOnce = true;
              throw new Error('a bug, once');
            }
            if (seq === 3 && outage) throw new TransientError('the database is away');
            handled.push(seq);
          }),
        ],
      });
      const lag = () =>
        scraped(metrics, 'waooaw_consumer_lag', {
          group: consumer.groupId,
          topic: stepped.topic,
          partition: '0',
        });
      try {
        await consumer.start();
        await pollFor(() => consumer.waiting().length === 1, { what: 'the partition paused at seq 3' });
        expect(handled).toEqual([0, 1, 2]);
        expect(await lag()).toBe(2);

        outage = false;
        await pollFor(() => handled.length === 5, { what: 'every message handled' });
        await pollFor(async () => (await lag()) === 0, { what: 'lag 0' });

        const labels = { topic: stepped.topic, type: stepped.type };
        // 5 successful tries, one permanent failure, and at least one transient one.
        const errors = (kind: string) =>
          scraped(metrics, 'waooaw_event_handler_errors_total', { ...labels, kind });
        expect(await errors('permanent')).toBe(1);
        expect(await errors('transient')).toBeGreaterThanOrEqual(1);
        const tries = await scraped(metrics, 'waooaw_event_handler_duration_seconds_count', labels);
        expect(tries).toBeGreaterThanOrEqual(7);
      } finally {
        await consumer.stop();
      }
      // A stopped consumer holds no partition: its lag is no longer reported.
      expect(await lag()).toBeUndefined();
    });
  });

  describe('the outbox backlog', () => {
    let db: TestDatabase;

    beforeAll(async () => {
      db = await testDatabase('backlog');
    });

    afterAll(() => db.drop());

    it('counts the entries waiting in the watched collections and the hand-overs held, at every scrape', async () => {
      const metrics = createMetrics('backlog-test');
      const Docs = db.connection.model(
        uniqueName('Docs'),
        new Schema({ _id: String, ...outboxSchemaFields }),
      );
      const entry = (id: string) => ({ id, topic: 't', key: 'k', envelope: {} });
      await Docs.collection.insertMany([
        { _id: 'a', outbox: [entry('1'), entry('2')], outboxLockedUntil: null },
        { _id: 'b', outbox: [entry('3')], outboxLockedUntil: null },
        { _id: 'c', outbox: [], outboxLockedUntil: null },
      ] as never[]);
      let held = 4;
      const unwatch = metrics.watchOutbox(
        outboxBacklog([Docs], { handOvers: () => ({ held, leftToScan: false }) }),
      );
      const pending = () =>
        scraped(metrics, 'waooaw_outbox_pending_entries', { collection: Docs.collection.collectionName });
      const heldGauge = () => scraped(metrics, 'waooaw_outbox_handovers_held');
      expect(await pending()).toBe(3);
      expect(await heldGauge()).toBe(4);

      await Docs.collection.updateOne({ _id: 'a' } as never, { $set: { outbox: [] } });
      held = 0;
      expect(await pending()).toBe(1);
      expect(await heldGauge()).toBe(0);
      unwatch();
    });

    it('keeps the last count when a read does not answer in time', async () => {
      expect(await scrapeRead(new Promise(() => undefined), 20)).toBeUndefined();
      expect(await scrapeRead(Promise.reject(new Error('down')), 20)).toBeUndefined();
      expect(await scrapeRead(Promise.resolve(7), 20)).toBe(7);
    });
  });

  it('bounds free-form label values', () => {
    const label = boundedLabel(2);
    expect(['a', 'b', 'c', 'a', 'd', 'b'].map(label)).toEqual(['a', 'b', '(other)', 'a', '(other)', 'b']);
  });
});
