import type { Consumer } from 'kafkajs';
import { delay } from '../backoff';

/**
 * Subscribes, retrying while the broker has no leader yet for a topic created a moment ago (by this
 * process or a concurrent one): kafkajs reports "This server does not host this topic-partition",
 * marks it retriable, but does not retry a subscribe itself.
 */
export async function subscribeWhenReady(
  consumer: Consumer,
  topic: string,
  fromBeginning: boolean,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await consumer.subscribe({ topic, fromBeginning });
      return;
    } catch (err) {
      if (attempt >= 10 || !(err as { retriable?: boolean }).retriable) throw err;
      await delay(100 * attempt);
    }
  }
}
