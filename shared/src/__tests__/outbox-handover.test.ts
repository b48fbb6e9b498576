import type { Model } from 'mongoose';
import type { Envelope, EventBus, OutboxEntry, OutboxRelay, PlatformMetrics } from '../index';
import { createEventBus, createMetrics, createOutboxRelay, outboxClaim, outboxEntry } from '../index';
import { pollFor, testDatabase, testKafka, testLogger } from '../testing';
import type { OrderDoc } from './outbox-harness';
import { orderOutbox } from './outbox-harness';

/**
 * The direct outbox path: a writer claims its document's outbox in the same update that pushes the
 * entries and hands them to the relay (publishWritten); the scan covers whatever a writer could not
 * hand over (it crashed) or what failed to publish.
 */
describe('document outbox: entries handed over by their writer', () => {
  let bus: EventBus;
  let db: Awaited<ReturnType<typeof testDatabase>>;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    bus = createEventBus({ ...testKafka(), service: 'handover-test', logger: testLogger() });
    await bus.connect();
    db = await testDatabase('handover');
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await bus.disconnect();
    await db.drop();
  });

  /** An order collection and topic of the test's own (see orderOutbox), and writes to it. */
  const setup = async () => {
    const { Order, changed, published, doc } = await orderOutbox({ bus, db, stops });

    /** Changes the order and records its events in one update, claiming them for this writer. */
    const write = async (id: string, statuses: string[], claimUntil: Date | null = outboxClaim()) => {
      const entries = statuses.map((status) => outboxEntry(bus, changed, { status }, { subject: id }));
      await Order.updateOne(
        { _id: id },
        {
          $set: { status: statuses.at(-1), outboxLockedUntil: claimUntil },
          $push: { outbox: { $each: entries } },
        },
        { upsert: true },
      );
      return entries;
    };

    const pending = async (id: string) => (await doc(id)).outbox.map((e) => e.id);
    return { Order, changed, write, published, pending };
  };

  const relayFor = (
    model: Model<OrderDoc>,
    options: {
      bus?: Pick<EventBus, 'publishEnvelope'>;
      maxHandOvers?: number;
      metrics?: PlatformMetrics;
      maxIntervalMs?: number;
      markWindowMs?: number;
    } = {},
  ): OutboxRelay => {
    const relay = createOutboxRelay({
      models: [model],
      bus: options.bus ?? bus,
      logger: testLogger(),
      intervalMs: 20,
      ...(options.maxIntervalMs ? { maxIntervalMs: options.maxIntervalMs } : {}),
      ...(options.markWindowMs ? { markWindowMs: options.markWindowMs } : {}),
      ...(options.maxHandOvers ? { maxHandOvers: options.maxHandOvers } : {}),
      ...(options.metrics ? { metrics: options.metrics } : {}),
    });
    stops.push(() => relay.stop());
    return relay;
  };

  /** Publishes through the real bus, or refuses while `down` (Kafka unavailable). */
  const flakyBus = () => {
    const state = {
      down: true,
      refusals: 0,
      bus: {
        publishEnvelope: async (topic: string, envelope: Envelope, key?: string) => {
          if (state.down) {
            state.refusals++;
            throw new Error('broker unavailable');
          }
          await bus.publishEnvelope(topic, envelope, key);
        },
      },
    };
    return state;
  };

  const ids = (entries: OutboxEntry[]) => entries.map((e) => e.id);

  it("publishes handed-over entries once each, in each document's order, and removes them", async () => {
    const { Order, write, published } = await setup();
    // A scan runs every 20 ms meanwhile: it must leave the claimed documents to their writers.
    const relay = relayFor(Order);
    relay.start();
    const written = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const id = `o-${i}`;
        const entries = await write(id, ['CREATED', 'PAID', 'SHIPPED']);
        relay.publishWritten(Order, id, entries);
        return { id, entries };
      }),
    );

    await pollFor(async () => (await Order.countDocuments({ 'outbox.0': { $exists: true } })) === 0, {
      what: 'every outbox emptied',
    });
    await relay.stop();
    const events = await published();
    expect(events).toHaveLength(120);
    for (const { id, entries } of written)
      expect([id, events.filter((e) => e.subject === id).map((e) => e.id)]).toEqual([id, ids(entries)]);
    expect(events.find((e) => e.subject === 'o-7')!.data).toEqual({ status: 'CREATED' });
  });

  it('removes what it published in one bulk write per window, a document written twice in it by one update', async () => {
    const { Order, write, published, pending } = await setup();
    const removals: number[] = [];
    const bulkWrite = Order.collection.bulkWrite.bind(Order.collection);
    jest.spyOn(Order.collection, 'bulkWrite').mockImplementation((ops, ...rest) => {
      removals.push(ops.length);
      return bulkWrite(ops, ...rest);
    });
    const relay = relayFor(Order, { markWindowMs: 1_000 });
    // Three hand-overs, each published in a round of its own, all within the window.
    const first = await write('o-1', ['CREATED']);
    relay.publishWritten(Order, 'o-1', first);
    await pollFor(async () => (await published()).length === 1, { what: 'the first published' });
    const second = await write('o-2', ['CREATED']);
    relay.publishWritten(Order, 'o-2', second);
    const third = await write('o-1', ['PAID']);
    relay.publishWritten(Order, 'o-1', third);
    await pollFor(async () => (await published()).length === 3, { what: 'all three published' });
    await pollFor(async () => (await pending('o-1')).length + (await pending('o-2')).length === 0, {
      what: 'the published entries removed',
    });
    // One bulk write, one update per document.
    expect(removals).toEqual([2]);
    expect((await published()).map((e) => e.id)).toEqual(ids([...first, ...second, ...third]));
  });

  it('leaves entries to their writer while its claim holds, and the writer publishes them', async () => {
    const { Order, write, published, pending } = await setup();
    const relay = relayFor(Order);
    const entries = await write('o-1', ['CREATED', 'PAID']);

    // The writer has not handed them over yet: a scanning pass skips the claimed document.
    expect(await relay.flush()).toBe(0);
    expect(await pending('o-1')).toEqual(ids(entries));

    relay.publishWritten(Order, 'o-1', entries);
    await pollFor(async () => (await pending('o-1')).length === 0, { what: 'the entries removed' });
    expect(await relay.flush()).toBe(0);
    expect((await published()).map((e) => e.id)).toEqual(ids(entries));
  });

  it('publishes what a writer that died before handing over left, once its claim expires', async () => {
    const { Order, write, published, pending } = await setup();
    const relay = relayFor(Order);
    const claimUntil = outboxClaim(Date.now(), 800);
    const entries = await write('o-1', ['CREATED', 'PAID', 'SHIPPED'], claimUntil);
    await write('o-2', ['CREATED'], null); // never claimed: the scan takes it at once

    let total = 0;
    let passesWhileClaimed = 0;
    const doneAt = await pollFor(
      async () => {
        const startedAt = Date.now();
        total += await relay.flush();
        if (startedAt < claimUntil.getTime()) passesWhileClaimed++;
        return total === 4 && startedAt;
      },
      { what: 'the abandoned entries published', intervalMs: 20 },
    );
    // Passes ran while the claim held, and the claimed entries went out only after it expired.
    expect(passesWhileClaimed).toBeGreaterThan(0);
    expect(doneAt).toBeGreaterThanOrEqual(claimUntil.getTime());
    expect(await pending('o-1')).toEqual([]);
    expect((await Order.findById('o-1').lean())!.outboxLockedUntil).toBeNull();
    const events = await published();
    expect(events.filter((e) => e.subject === 'o-1').map((e) => e.id)).toEqual(ids(entries));
    expect(events).toHaveLength(4);
  });

  it('scans less and less often while it finds nothing, and often again once it publishes', async () => {
    const { Order, write, published } = await setup();
    // When each scan of this collection began (the relay's scans are the finds on outbox.id).
    const scans: number[] = [];
    const find = Order.collection.find.bind(Order.collection);
    jest.spyOn(Order.collection, 'find').mockImplementation((filter, ...rest) => {
      if (filter && 'outbox.id' in filter) scans.push(Date.now());
      return find(filter, ...rest);
    });
    const scanned = (n: number) =>
      pollFor(() => scans.length >= n, { what: `${n} scans`, timeoutMs: 15_000 });
    const gap = (i: number) => scans[i]! - scans[i - 1]!;
    const relay = relayFor(Order, { maxIntervalMs: 1_000 });
    relay.start();

    // Idle: 20, 40, 80 ... ms between scans, then 1 s at most. A timer never fires early, so each
    // gap is at least its wait (a millisecond of rounding aside).
    await scanned(9);
    [20, 40, 80, 160, 320, 640, 1_000, 1_000].forEach((wait, i) =>
      expect(gap(i + 1)).toBeGreaterThanOrEqual(wait - 2),
    );

    // Written without a kick and unclaimed (a writer that died before handing it over): the next scan
    // publishes it, and the scans after that come at the short interval again.
    const entries = await write('o-1', ['CREATED'], null);
    await pollFor(async () => (await published()).length === 1, { what: 'the entry published' });
    expect((await published())[0]!.id).toBe(entries[0]!.id);
    const after = scans.length;
    await scanned(after + 2);
    expect(gap(after + 1)).toBeLessThan(500);
  });

  it('keeps hand-overs that Kafka refused in their document and publishes them, in order, later', async () => {
    const { Order, write, published, pending } = await setup();
    const kafka = flakyBus();
    const relay = relayFor(Order, { bus: kafka.bus });
    relay.start();
    const first = await write('o-1', ['CREATED', 'PAID']);
    relay.publishWritten(Order, 'o-1', first);
    await pollFor(() => kafka.refusals >= 4, { what: 'the hand-over refused and retried' });
    // The writer changes the order again while its first events are still waiting.
    const second = await write('o-1', ['SHIPPED']);
    relay.publishWritten(Order, 'o-1', second);
    const entries = [...first, ...second];

    await pollFor(() => kafka.refusals >= 7, { what: 'both hand-overs refused together' });
    expect(await pending('o-1')).toEqual(ids(entries));

    kafka.down = false;
    await pollFor(async () => (await pending('o-1')).length === 0, { what: 'the entries removed' });
    await relay.stop();
    expect((await published()).map((e) => e.id)).toEqual(ids(entries));
  });

  it('holds at most maxHandOvers while Kafka refuses, leaves the rest to a sweep, and publishes every event once, in order, when Kafka is back', async () => {
    const { Order, write, published, pending } = await setup();
    const kafka = flakyBus();
    const metrics = createMetrics('handover-test');
    const maxHandOvers = 10;
    // Not started yet, so no pass runs during the outage (a sweep then would only fail): hand-overs
    // are published (and refused) by the direct path alone.
    const relay = relayFor(Order, { bus: kafka.bus, maxHandOvers, metrics });
    const orders = Array.from({ length: 30 }, (_, i) => `o-${i}`);
    const expected = new Map(orders.map((id) => [id, [] as string[]]));
    /** One change of each order, written and handed over. */
    const handOver = async (statuses: string[], changed = orders, claimUntil?: Date) => {
      for (const id of changed) {
        const entries = await write(id, statuses, claimUntil);
        relay.publishWritten(Order, id, entries);
        expected.get(id)!.push(...ids(entries));
        heldMost = Math.max(heldMost, relay.handOvers().held);
      }
    };
    let heldMost = 0;
    // Four changes of each order, one round after the other: each order has hand-overs held, then
    // let go of while earlier ones are still held, and refused.
    for (const status of ['CREATED', 'PAID', 'PACKED', 'SHIPPED']) await handOver([status]);

    expect(heldMost).toBe(maxHandOvers);
    expect(relay.handOvers().leftToScan).toBe(true);
    // What is not held was let go of, and counted; all of it is still pending in its document.
    const leftToScan = (await metrics.outboxLeftToScan.get()).values.reduce((n, v) => n + v.value, 0);
    expect(leftToScan + relay.handOvers().held).toBe(120);
    for (const id of orders) expect([id, await pending(id)]).toEqual([id, expected.get(id)]);

    // Kafka is back, and the writers go on before any sweep: these later events must not overtake
    // the ones let go of, pending until a sweep has published them.
    kafka.down = false;
    await handOver(['PICKED']);
    expect(relay.handOvers()).toEqual({ held: maxHandOvers, leftToScan: true });
    relay.start();
    await pollFor(() => !relay.handOvers().leftToScan, {
      what: 'a sweep to publish what was let go of, and the direct path to take over again',
    });
    // Back on the direct path: entries claimed by their writer for ten minutes still go out at once.
    // (No more than the list holds, so none is let go of to a sweep, whatever the machine's pace.)
    await handOver(['DELIVERED'], orders.slice(0, maxHandOvers), outboxClaim(Date.now(), 600_000));
    await pollFor(async () => (await Order.countDocuments({ 'outbox.0': { $exists: true } })) === 0, {
      what: 'the hand-overs after recovery published',
    });
    await relay.stop();

    // Each event once (nothing was handed over while the sweep ran, so nothing went out both ways),
    // and each order's events in the order they were written.
    const events = await published();
    expect(events).toHaveLength(30 * 5 + maxHandOvers);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    for (const id of orders)
      expect([id, events.filter((e) => e.subject === id).map((e) => e.id)]).toEqual([id, expected.get(id)]);
  });

  it('keeps what a scan could not publish and publishes it, in order, at the next pass', async () => {
    const { Order, write, published, pending } = await setup();
    const kafka = flakyBus();
    const relay = relayFor(Order, { bus: kafka.bus });
    const entries = await write('o-1', ['CREATED', 'PAID', 'SHIPPED'], null);

    await expect(relay.flush()).rejects.toThrow('broker unavailable');
    expect(await pending('o-1')).toEqual(ids(entries));
    // The failed pass gave its claim back rather than holding the document for lockMs (30 s).
    expect((await Order.findById('o-1').lean())!.outboxLockedUntil).toBeNull();

    kafka.down = false;
    expect(await relay.flush()).toBe(3);
    expect(await pending('o-1')).toEqual([]);
    expect((await Order.findById('o-1').lean())!.outboxLockedUntil).toBeNull();
    expect((await published()).map((e) => e.id)).toEqual(ids(entries));
  });

  it('publishes a backlog larger than one scan round (SCAN_BATCH) in a single pass', async () => {
    const { Order, changed, published } = await setup();
    const relay = relayFor(Order);
    const backlog = Array.from({ length: 230 }, (_, i) => {
      const id = `o-${i}`;
      return {
        _id: id,
        status: 'CREATED',
        outbox: [outboxEntry(bus, changed, { status: 'CREATED' }, { subject: id })],
        outboxLockedUntil: null,
      };
    });
    await Order.insertMany(backlog);

    expect(await relay.flush()).toBe(230);
    expect(await Order.countDocuments({ 'outbox.0': { $exists: true } })).toBe(0);
    const events = await published();
    expect(events).toHaveLength(230);
    expect(new Set(events.map((e) => e.id))).toEqual(new Set(backlog.map((d) => d.outbox[0]!.id)));
  });
});
