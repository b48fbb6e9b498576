import { LRUCache } from 'lru-cache';

/**
 * Answers worked out for one subscriber and kept for the others that need the same one: an event's
 * entity for an audience (entities.ts), an event's whole payload for an audience and selection
 * (payloads.ts). Subscribers pull at their own pace (queue.ts), so the slower ones come for an
 * answer later than the first; it is kept `keepMs` for them, and at most `max` answers (the least
 * recently used go first: a bound on memory, whatever the number of events and audiences). An answer
 * that fails is dropped at once, so that the next subscriber tries again rather than inherit it.
 *
 * lru-cache rather than a Map pruned by hand: recency, a time to live and a bound together are what
 * it is for.
 */
export interface KeptAnswers<T> {
  /** The kept answer for `key`, or the one `work` starts now, kept from now on. */
  get(key: string, work: () => Promise<T>): Promise<T>;
  readonly size: number;
}

export function keptAnswers<T>(options: { keepMs: number; max: number }): KeptAnswers<T> {
  const kept = new LRUCache<string, Promise<T>>({
    max: options.max,
    ttl: options.keepMs,
    // Expired answers are found and dropped as they are asked for or pushed out by newer ones; no timer.
    ttlAutopurge: false,
  });
  return {
    get(key, work) {
      const hit = kept.get(key);
      if (hit) return hit;
      const answer = work();
      kept.set(key, answer);
      answer.catch(() => {
        if (kept.peek(key) === answer) kept.delete(key);
      });
      return answer;
    },
    get size() {
      return kept.size;
    },
  };
}
