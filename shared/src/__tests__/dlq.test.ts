import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Admin } from 'kafkajs';
import { z } from 'zod';
import type { DlqTopicSummary, Envelope, EventBus } from '../index';
import {
  createEventBus,
  createMetrics,
  defineEvent,
  describeDeadLetterTopic,
  dlqTopic,
  formatDeadLetter,
  listDeadLetterTopics,
  readDeadLetters,
  replayDeadLetters,
  replayGroup,
  on,
} from '../index';
import { collectTopic, pollFor, testInfra, testKafka, testLogger, uniqueName, uniqueTopic } from '../testing';
import { quickRetries, startConsumerService } from './consumer-harness';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../../..');

const orderSchema = z.object({ orderId: z.string() });

describe('dead letters: list, show and replay against a real Kafka broker', () => {
  let bus: EventBus;
  let admin: Admin;
  const metrics = createMetrics('dlq-test');

  beforeAll(async () => {
    // In the run's namespace, as a platform's bus: dead letters and the tools name topics as on the
    // broker (`<ns>.<topic>`), the CLI reads the namespace from WAOOAW_NAMESPACE like the services.
    bus = createEventBus({
      ...testKafka(),
      service: 'dlq-test',
      logger: testLogger(),
      metrics,
    });
    admin = bus.kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin.disconnect();
  });

  it('lists, shows and replays dead letters once each; a fixed handler then handles them', async () => {
    const placed = defineEvent(uniqueTopic('dlq', 'placed'), orderSchema);
    await bus.ensureTopics([{ topic: placed.topic, partitions: 1 }]);
    const source = bus.topic(placed.topic);
    const dlq = dlqTopic(source);
    let broken = true;
    const handled: string[] = [];
    const consumer = bus.consumer({
      groupId: uniqueName('g'),
      maxAttempts: 2,
      retryBackoff: quickRetries,
      handlers: [
        on(placed, async (data) => {
          // A bug (not an outage): the same error for the same message every time.
          if (broken) throw new RangeError(`cannot price order ${data.orderId}`);
          handled.push(data.orderId);
        }),
      ],
    });
    const { service } = await startConsumerService({ name: 'dlq-test', bus, consumer, metrics });
    const raw = await collectTopic(placed.topic);
    const deadLetters = () => describeDeadLetterTopic(bus.kafka, dlq);
    try {
      await consumer.joined();
      const sent = new Map<string, Envelope>();
      for (const orderId of ['a', 'b', 'c'])
        sent.set(orderId, await bus.publish(placed, { orderId }, { subject: orderId }));
      await pollFor(async () => (await deadLetters()).count === 3, { what: 'three dead letters' });

      // /metrics counts them per source topic.
      const scraped = await (await fetch(service.metricsUrl!)).text();
      expect(scraped).toMatch(
        new RegExp(
          `waooaw_events_dead_lettered_total\\{topic="${source.replace(/\./g, '\\.')}",reason="handler-failed"[^}]*\\} 3`,
        ),
      );

      // list: every DLQ topic with its count; this one with its dead letters.
      const all = await listDeadLetterTopics(bus.kafka);
      expect(all.find((t) => t.topic === dlq)).toMatchObject<Partial<DlqTopicSummary>>({
        sourceTopic: source,
        count: 3,
        pending: 3,
      });
      const letters = await readDeadLetters(bus.kafka, dlq);
      expect(letters.map((l) => [l.offset, l.key, l.reason, l.group, l.attempts, l.replayed])).toEqual(
        ['a', 'b', 'c'].map((key, i) => [String(i), key, 'handler-failed', consumer.groupId, 2, false]),
      );
      expect(letters[0]!.source).toEqual({ topic: source, partition: 0, offset: '0' });
      expect(letters[0]!.error).toBe('RangeError: cannot price order a');
      expect(Date.parse(letters[0]!.failedAt!)).not.toBeNaN();

      // show: one in full, headers and the envelope pretty-printed.
      const [one] = await readDeadLetters(bus.kafka, dlq, { offset: '1' });
      const shown = formatDeadLetter(one!);
      expect(shown).toContain(`${dlq}[0] offset 1`);
      expect(shown).toContain('x-dlq-reason: handler-failed');
      expect(shown).toContain(`ce-id: ${sent.get('b')!.id}`);
      expect(shown).toContain('  "orderId": "b"');
      await expect(readDeadLetters(bus.kafka, dlq, { offset: '7' })).rejects.toThrow(
        /no dead letter at offset 7: it holds offsets 0 to 2/,
      );

      // replay: the bug fixed, each goes back to the source topic once, as it was.
      broken = false;
      const first = await replayDeadLetters(bus.kafka, dlq);
      expect(first.replayed.map((r) => [r.offset, r.to])).toEqual(['0', '1', '2'].map((o) => [o, source]));
      await pollFor(() => handled.length === 3, { what: 'the replayed orders handled' });
      expect(handled).toEqual(['a', 'b', 'c']);
      const replays = await pollFor(() => raw.messages.length === 6 && raw.messages.slice(3), {
        what: 'the replayed messages on the source topic',
      });
      for (const [i, message] of replays.entries()) {
        const original = raw.messages[i]!;
        expect(message.key).toEqual(original.key);
        expect(message.value).toEqual(original.value);
        expect(Object.keys(message.headers!).filter((h) => h.startsWith('x-dlq-'))).toEqual([]);
        expect(message.headers!['ce-id']!.toString()).toBe(sent.get(original.key!.toString())!.id);
        expect(message.headers!['x-replayed-from']!.toString()).toBe(`${dlq}/0/${i}`);
      }
      expect((await deadLetters()).pending).toBe(0);
      expect((await readDeadLetters(bus.kafka, dlq)).every((l) => l.replayed)).toBe(true);
      // The mark is the replay group's committed offset: its lag is what still waits.
      expect(
        (await admin.fetchOffsets({ groupId: replayGroup(dlq), topics: [dlq] }))[0]!.partitions[0]!.offset,
      ).toBe('3');

      // A second replay sends nothing again.
      const second = await replayDeadLetters(bus.kafka, dlq);
      expect(second).toEqual({ topic: dlq, replayed: [], skipped: [] });

      // Out of order: one by --offset, then the rest; each still once. --group picks by consumer group.
      broken = true;
      for (const orderId of ['d', 'e']) await bus.publish(placed, { orderId }, { subject: orderId });
      await pollFor(async () => (await deadLetters()).count === 5, { what: 'two more dead letters' });
      broken = false;
      expect((await replayDeadLetters(bus.kafka, dlq, { group: 'another-group' })).replayed).toEqual([]);
      expect((await replayDeadLetters(bus.kafka, dlq, { offset: '4' })).replayed).toEqual([
        { partition: 0, offset: '4', to: source },
      ]);
      expect(await deadLetters()).toMatchObject({ count: 5, pending: 1 });
      expect((await replayDeadLetters(bus.kafka, dlq, { offset: '4' })).skipped).toEqual([
        { partition: 0, offset: '4', why: 'already replayed (--force sends it again)' },
      ]);
      const rest = await replayDeadLetters(bus.kafka, dlq, { group: consumer.groupId });
      expect(rest.replayed.map((r) => r.offset)).toEqual(['3']);
      expect((await replayDeadLetters(bus.kafka, dlq)).replayed).toEqual([]);
      await pollFor(() => handled.length === 5, { what: 'd and e handled' });
      expect(handled.slice(3).sort()).toEqual(['d', 'e']);
      expect(await deadLetters()).toMatchObject({ count: 5, pending: 0 });

      // The CLI itself, as `npm run dlq` runs it.
      const cli = (...args: string[]) =>
        run(process.execPath, ['--import', 'tsx', path.join(root, 'shared/src/dlq/cli.ts'), ...args], {
          cwd: root,
          env: { ...process.env, KAFKA_BROKERS: testInfra().brokers.join(',') },
        });
      const listed = await cli('list', placed.topic, '--json');
      const body = JSON.parse(listed.stdout) as DlqTopicSummary & {
        deadLetters: { offset: string; reason: string; replayed: boolean; value: string }[];
      };
      expect(body).toMatchObject({ topic: dlq, count: 5, pending: 0 });
      expect(body.deadLetters.map((l) => [l.offset, l.reason, l.replayed])).toEqual(
        ['0', '1', '2', '3', '4'].map((o) => [o, 'handler-failed', true]),
      );
      expect((JSON.parse(body.deadLetters[0]!.value) as Envelope<{ orderId: string }>).data.orderId).toBe(
        'a',
      );
      await expect(cli('show', placed.topic, '--offset', '9')).rejects.toMatchObject({
        code: 3,
        stderr: expect.stringContaining('no dead letter at offset 9') as unknown,
      });
    } finally {
      await raw.stop();
      await service.stop();
    }
  });
});
