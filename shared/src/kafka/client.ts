import { createRequire } from 'node:module';
import { Kafka } from 'kafkajs';
import type { KafkaConfig } from 'kafkajs';

/**
 * The Kafka clients of the platform (the services' bus, and through it the runtimes, the gateway's
 * feeds and the bench; the dead-letter tool; the tests' collectors) are made here, so that kafkajs is
 * mended before its first connection. Only the launcher's readiness probe (infra, which cannot depend
 * on shared) makes its own, for a few requests.
 */
export function newKafka(config: KafkaConfig): Kafka {
  mendRequestQueue();
  return new Kafka(config);
}

/** What the mend touches of kafkajs's per-connection request queue (internal, so untyped upstream). */
interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests: (this: RequestQueueInternals) => void;
}

/** kafkajs's own retry interval for requests that wait for a free in-flight slot. */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

let mended: boolean | undefined;

/**
 * kafkajs 2.2.4 (the last release; upstream is unmaintained) re-arms a timer on every connection
 * after each check of its queue of waiting requests, also when nothing waits and nothing is
 * throttled: the delay is then `throttledUntil - now`, negative, so Node runs it after 1 ms, and the
 * check re-arms it again. Each open connection wakes its process a thousand times a second for
 * nothing (upstream issues 1556 and 1704, fix proposed in pull request 1667, never merged).
 *
 * Measured here (bench/README.md, "What kafkajs cost at rest"): the platform at rest, interleaved
 * A, B, A, B, went from 388 and 367 to 210 and 214 CPU ms per second in its Node processes (Kafka's
 * broker from 143 and 90 to 92 and 91); at 250 tasks/s offered, from 12.1 and 9.8 to 6.9 and 6.9
 * platform CPU ms per task.
 *
 * The mend schedules a check only when a request waits: at the end of a client-side throttle, or
 * after kafkajs's 10 ms while the in-flight limit is reached. Nothing else is lost: a request that
 * finds a free slot is sent at once, and every completed or timed-out request checks the queue
 * again (kafkajs's `fulfillRequest` and the request's timeout), which is what frees a slot.
 *
 * It replaces the method only when it still has the faulty shape, so a kafkajs that fixes it keeps
 * its own.
 */
export function mendRequestQueue(): boolean {
  if (mended !== undefined) return mended;
  // The copy `import { Kafka } from 'kafkajs'` above resolves to: the connections use this module.
  const load = createRequire(__filename);
  const RequestQueue = load('kafkajs/src/network/requestQueue') as { prototype: RequestQueueInternals };
  const original = RequestQueue.prototype.scheduleCheckPendingRequests;
  mended =
    typeof original === 'function' &&
    /this\.throttledUntil - Date\.now\(\)/.test(original.toString()) &&
    /this\.pending\.length > 0/.test(original.toString());
  if (!mended) return false;
  RequestQueue.prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(
    this: RequestQueueInternals,
  ) {
    if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
    const untilUnthrottled = this.throttledUntil - Date.now();
    this.throttleCheckTimeoutId = setTimeout(
      () => {
        this.throttleCheckTimeoutId = null;
        this.checkPendingRequests();
      },
      untilUnthrottled > 0 ? untilUnthrottled : CHECK_PENDING_REQUESTS_INTERVAL_MS,
    );
  };
  return true;
}
