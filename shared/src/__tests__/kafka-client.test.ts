import { createRequire } from 'node:module';
import { mendRequestQueue, newKafka } from '../kafka/client';
import { testInfra } from '../testing';

/** kafkajs's per-connection request queue, the real class (internal, so described here). */
interface SocketRequestLike {
  correlationId: number;
}
/** What kafkajs's connection hands the queue for one request: the answer goes to `resolve`. */
interface Entry {
  correlationId: number;
  apiName: string;
  resolve(answer: unknown): void;
  reject(err: unknown): void;
}
const entry = (correlationId: number): Entry => ({
  correlationId,
  apiName: 'Test',
  resolve: () => undefined,
  reject: () => undefined,
});
interface RequestQueue {
  pending: SocketRequestLike[];
  inflight: Map<number, SocketRequestLike>;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  push(request: { entry: Entry; expectResponse: boolean; sendRequest(): void }): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
  maybeThrottle(ms: number): void;
  destroy(): void;
}
type RequestQueueClass = new (options: Record<string, unknown>) => RequestQueue;

const RequestQueueClass = createRequire(__filename)('kafkajs/src/network/requestQueue') as RequestQueueClass;
const quietLogger = { debug: () => undefined, warn: () => undefined, error: () => undefined };
const queue = (maxInFlightRequests: number) =>
  new RequestQueueClass({
    maxInFlightRequests,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 'test',
    broker: 'test:9092',
    logger: quietLogger,
  });

describe('the kafkajs request-queue mend', () => {
  beforeAll(() => {
    expect(mendRequestQueue()).toBe(true);
  });

  it('arms no timer while nothing waits (kafkajs re-armed a 1 ms one forever)', () => {
    const q = queue(1);
    q.checkPendingRequests();
    expect(q.throttleCheckTimeoutId).toBeNull();

    // A request that finds a free slot goes out at once, and its answer leaves nothing armed.
    const sent: number[] = [];
    q.push({ entry: entry(1), expectResponse: true, sendRequest: () => sent.push(1) });
    expect(sent).toEqual([1]);
    q.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    expect(q.throttleCheckTimeoutId).toBeNull();
    q.destroy();
  });

  it('still sends a request that waited for the in-flight slot, as soon as the slot is free', () => {
    const q = queue(1);
    const sent: number[] = [];
    for (const id of [1, 2])
      q.push({ entry: entry(id), expectResponse: true, sendRequest: () => sent.push(id) });
    expect(sent).toEqual([1]);
    expect(q.pending).toHaveLength(1);
    // Waiting: kafkajs's 10 ms fallback check is armed.
    expect(q.throttleCheckTimeoutId).not.toBeNull();
    q.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    expect(sent).toEqual([1, 2]);
    q.fulfillRequest({ correlationId: 2, payload: Buffer.alloc(0), size: 0 });
    q.destroy();
  });

  it('sends a request held back by a client-side throttle when the throttle ends', async () => {
    const q = queue(5);
    q.maybeThrottle(30);
    const sent = new Promise<number>((resolve) =>
      q.push({ entry: entry(7), expectResponse: true, sendRequest: () => resolve(Date.now()) }),
    );
    const pushedAt = Date.now();
    expect(q.pending).toHaveLength(1);
    expect(await sent).toBeGreaterThanOrEqual(pushedAt + 25);
    q.destroy();
  });

  it('leaves a connected client working end to end', async () => {
    const kafka = newKafka({ clientId: 'mend-test', brokers: testInfra().brokers, logLevel: 0 });
    const admin = kafka.admin();
    await admin.connect();
    try {
      // A few round trips over the mended queue, one after another and several at once.
      await admin.listTopics();
      await Promise.all([admin.listTopics(), admin.describeCluster(), admin.listGroups()]);
      expect((await admin.describeCluster()).brokers.length).toBeGreaterThan(0);
    } finally {
      await admin.disconnect();
    }
  });
});
