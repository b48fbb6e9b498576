/**
 * What one subscriber has been handed but not yet pulled, as the async iterator graphql-ws reads.
 *
 * Two kinds of items wait here. Live items arrive at the feed's pace, which the subscriber does not
 * set: past `maxLive` of them waiting (or when `behind()` says its socket is backed up) the subscriber
 * is too slow, and `onTooSlow` closes it rather than let it hold ever more memory. Replayed items
 * come from a replay the subscriber asked for: they never count as falling behind; instead the
 * replay is paused at `replayHighWater` waiting and resumed once they drain to `replayLowWater`.
 *
 * Items are turned into results (`resolve`) when pulled, not when pushed: a subscriber that leaves
 * costs nothing for what it never read. With `prefetch`, a pull also starts the next few waiting
 * items, so a subscriber with a backlog has that many resolutions in flight (and so in one batch of
 * entity lookups, see entities.ts) instead of one round trip per event; still yielded in order.
 * With `eager`, for results shared by all who hear an event, every item starts as it is queued.
 *
 * Written here rather than taken from a library (Repeater, it-pushable): what matters is the
 * accounting above, which needs the count of each kind waiting, and a `return()` that takes effect
 * while a pull is still resolving; those libraries hide the first and queue the second.
 */
export interface SubscriberQueueOptions<T, R> {
  maxLive: number;
  replayHighWater: number;
  replayLowWater: number;
  /** Turns a pulled item into what the iterator yields. */
  resolve: (item: T, replayed: boolean) => Promise<R>;
  /** Waiting items a pull starts resolving ahead of their turn (default 0: only the pulled one). */
  prefetch?: number;
  /**
   * Start resolving each item as it is queued rather than when pulled: for results shared by everyone
   * who hears the event (payload.ts), which cost the same whether one subscriber or all wait for them,
   * so a subscriber with a backlog need not wait for them one prefetch at a time.
   */
  eager?: boolean;
  /** Checked at every live push: true when the subscriber is behind however few items wait here. */
  behind?: () => boolean;
  /** The subscriber is too slow (`waiting` live items); the queue is closed already. */
  onTooSlow: (waiting: number) => void;
  onPauseReplay?: () => void;
  onResumeReplay?: () => void;
  /** Runs when the subscriber leaves (`return()`), once the queue is closed and emptied. */
  onReturn?: () => Promise<void>;
}

export interface SubscriberQueue<T, R> extends AsyncIterableIterator<R> {
  /** Queues a live item (unless `cover` says it is a replay's); while holding (see hold), keeps it back. */
  pushLive(item: T): void;
  pushReplayed(item: T): void;
  /**
   * From now on, live items are kept back (a replay is in progress, and they come after it). Until
   * `cover` tells which of them the replay delivers itself, they are not counted: the live feed may
   * be behind, handing over the very events being replayed, as many as the subscriber missed.
   */
  hold(): void;
  /**
   * Live items `covered` accepts are the replay's: dropped from what is kept back, and from now on
   * as they come (also after `release`, if the live feed is still behind the replay's end). What
   * remains kept back counts towards `maxLive`: live items the subscriber has not had.
   */
  cover(covered: (item: T) => boolean): void;
  /** Stops holding: the kept-back items are queued as live, in order. */
  release(): void;
  /**
   * Ends the stream with `result`: it is yielded next, before anything still waiting, and nothing
   * more is queued.
   */
  fail(result: R): void;
  /** No more items are taken (too slow, failed, or the subscriber left). */
  readonly closed: boolean;
  /** The subscriber leaves: ends a waiting pull, drops what waits, and runs `onReturn`. */
  return(): Promise<IteratorResult<R, undefined>>;
}

export function createSubscriberQueue<T, R>(options: SubscriberQueueOptions<T, R>): SubscriberQueue<T, R> {
  type Entry = { item: T; replayed: boolean; result?: Promise<R> };
  const waiting: Entry[] = [];
  const prefetch = options.prefetch ?? 0;
  const start = (entry: Entry) => {
    if (!entry.result) {
      entry.result = options.resolve(entry.item, entry.replayed);
      // Awaited when its turn comes; until then a failure must not count as unhandled.
      entry.result.catch(() => undefined);
    }
    return entry.result;
  };
  let liveWaiting = 0;
  let held: T[] | undefined;
  let covered: ((item: T) => boolean) | undefined;
  let closed = false;
  let failure: { result: R } | undefined;
  let wake: (() => void) | undefined;

  const tooSlow = (count: number) => {
    closed = true;
    options.onTooSlow(count);
  };

  const queue: SubscriberQueue<T, R> = {
    get closed() {
      return closed;
    },
    pushLive(item) {
      if (closed || covered?.(item)) return;
      if (held) {
        held.push(item);
        if (covered && held.length > options.maxLive) tooSlow(held.length);
        return;
      }
      const entry: Entry = { item, replayed: false };
      waiting.push(entry);
      if (options.eager) void start(entry);
      liveWaiting++;
      if (liveWaiting > options.maxLive || options.behind?.()) tooSlow(liveWaiting);
      wake?.();
    },
    pushReplayed(item) {
      if (closed) return;
      const entry: Entry = { item, replayed: true };
      waiting.push(entry);
      if (options.eager) void start(entry);
      if (waiting.length - liveWaiting >= options.replayHighWater) options.onPauseReplay?.();
      wake?.();
    },
    hold() {
      held ??= [];
    },
    cover(replays) {
      covered = replays;
      if (!held) return;
      held = held.filter((item) => !replays(item));
      if (held.length > options.maxLive) tooSlow(held.length);
    },
    release() {
      const kept = held ?? [];
      held = undefined;
      for (const item of kept) queue.pushLive(item);
    },
    fail(result) {
      closed = true; // nothing more is held or queued: the failure ends the stream
      failure = { result };
      wake?.();
    },
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      for (;;) {
        if (failure) {
          const { result } = failure;
          failure = undefined;
          return { done: false, value: result };
        }
        const next = waiting.shift();
        if (next) {
          if (!next.replayed) liveWaiting--;
          else if (waiting.length - liveWaiting <= options.replayLowWater) options.onResumeReplay?.();
          const result = start(next);
          for (const ahead of waiting.slice(0, prefetch)) void start(ahead);
          return { done: false, value: await result };
        }
        if (closed) return { done: true, value: undefined };
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    },
    async return() {
      closed = true;
      waiting.length = 0; // nothing more is sent, so nothing more is resolved
      liveWaiting = 0;
      held = undefined;
      wake?.();
      await options.onReturn?.();
      return { done: true, value: undefined };
    },
  };
  return queue;
}
