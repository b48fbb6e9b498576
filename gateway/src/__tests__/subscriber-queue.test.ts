import type { SubscriberQueueOptions } from '../subscriptions/queue';
import { createSubscriberQueue } from '../subscriptions/queue';

/** A queue of numbers resolved to strings, recording what it was told. */
function queueOf(options: Partial<SubscriberQueueOptions<number, string>> = {}) {
  const told: string[] = [];
  const resolved: number[] = [];
  const queue = createSubscriberQueue<number, string>({
    maxLive: 3,
    replayHighWater: 4,
    replayLowWater: 1,
    resolve: (item, replayed) => {
      resolved.push(item);
      return Promise.resolve(`${replayed ? 'replayed' : 'live'} ${item}`);
    },
    onTooSlow: (waiting) => told.push(`too slow: ${waiting}`),
    onPauseReplay: () => told.push('pause'),
    onResumeReplay: () => told.push('resume'),
    onReturn: () => {
      told.push('returned');
      return Promise.resolve();
    },
    ...options,
  });
  /** Pulls `count` values (or fewer, if the stream ends). */
  const pull = async (count: number) => {
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      const next = await queue.next();
      if (next.done) break;
      out.push(next.value);
    }
    return out;
  };
  return { queue, told, resolved, pull };
}

describe('the subscriber queue', () => {
  it('with prefetch, starts the next waiting items when one is pulled, and still yields in order', async () => {
    // Resolutions that finish in reverse order of their start: the last started is the first done.
    const pending: { item: number; done: (value: string) => void }[] = [];
    const { queue, resolved } = queueOf({
      maxLive: 10,
      prefetch: 2,
      resolve: (item) => {
        resolved.push(item);
        return new Promise<string>((done) => pending.push({ item, done }));
      },
    });
    for (const n of [1, 2, 3, 4, 5]) queue.pushLive(n);
    const first = queue.next();
    // The pulled item and the two behind it are in flight; the rest wait for their turn.
    expect(resolved).toEqual([1, 2, 3]);
    for (const p of [...pending].reverse()) p.done(`live ${p.item}`);
    expect(await first).toEqual({ done: false, value: 'live 1' });
    expect(await queue.next()).toEqual({ done: false, value: 'live 2' });
    expect(resolved).toEqual([1, 2, 3, 4]);
    // Item 4, started when 2 was pulled, is yielded in its turn after 3.
    pending.find((p) => p.item === 4)!.done('live 4');
    expect(await queue.next()).toEqual({ done: false, value: 'live 3' });
    expect(await queue.next()).toEqual({ done: false, value: 'live 4' });
    await queue.return();
  });

  it('yields items in order, each resolved when pulled rather than when pushed', async () => {
    const { queue, resolved, pull } = queueOf();
    queue.pushLive(1);
    queue.pushLive(2);
    expect(resolved).toEqual([]);
    expect(await pull(1)).toEqual(['live 1']);
    expect(resolved).toEqual([1]);
    expect(await pull(1)).toEqual(['live 2']);
    // A pull that waits is woken by the next push.
    const waiting = queue.next();
    queue.pushLive(3);
    expect(await waiting).toEqual({ done: false, value: 'live 3' });
  });

  it('closes a subscriber with more live items waiting than it may have, and takes nothing after', async () => {
    const { queue, told, pull } = queueOf();
    for (const n of [1, 2, 3]) queue.pushLive(n);
    expect(told).toEqual([]);
    queue.pushLive(4);
    expect(told).toEqual(['too slow: 4']);
    expect(queue.closed).toBe(true);
    queue.pushLive(5);
    queue.pushReplayed(6);
    // What was queued before the close is still there to pull; then the stream ends.
    expect(await pull(10)).toEqual(['live 1', 'live 2', 'live 3', 'live 4']);
    expect(told).toEqual(['too slow: 4']);
  });

  it('counts only live items still waiting: one pulled makes room for another', async () => {
    const { queue, told, pull } = queueOf();
    for (const n of [1, 2, 3]) queue.pushLive(n);
    expect(await pull(1)).toEqual(['live 1']);
    queue.pushLive(4);
    expect(told).toEqual([]);
    expect(queue.closed).toBe(false);
  });

  it('closes a subscriber whose socket is behind, however few items wait', () => {
    let behind = false;
    const { queue, told } = queueOf({ behind: () => behind });
    queue.pushLive(1);
    behind = true;
    queue.pushLive(2);
    expect(told).toEqual(['too slow: 2']);
  });

  it('never counts replayed items as falling behind: it pauses the replay at the high water and resumes it at the low water', async () => {
    const { queue, told, pull } = queueOf();
    for (const n of [1, 2, 3]) queue.pushReplayed(n);
    expect(told).toEqual([]);
    queue.pushReplayed(4);
    expect(told).toEqual(['pause']);
    // Replayed items beyond maxLive (a paused replay may still deliver what it had fetched): told
    // again to pause, never closed.
    queue.pushReplayed(5);
    expect(told).toEqual(['pause', 'pause']);
    expect(queue.closed).toBe(false);
    // Live items beside them count on their own.
    for (const n of [10, 11, 12]) queue.pushLive(n);
    expect(queue.closed).toBe(false);
    expect(await pull(3)).toEqual(['replayed 1', 'replayed 2', 'replayed 3']);
    expect(told).toEqual(['pause', 'pause']);
    expect(await pull(1)).toEqual(['replayed 4']);
    expect(told).toEqual(['pause', 'pause', 'resume']);
    expect(await pull(4)).toEqual(['replayed 5', 'live 10', 'live 11', 'live 12']);
    expect(told).toEqual(['pause', 'pause', 'resume', 'resume']);
  });

  it('with eager, starts each item as it is queued, and still yields in order', async () => {
    const { queue, resolved, pull } = queueOf({ eager: true });
    queue.pushLive(1);
    queue.pushReplayed(2);
    queue.pushLive(3);
    expect(resolved).toEqual([1, 2, 3]); // before anything was pulled
    expect(await pull(3)).toEqual(['live 1', 'replayed 2', 'live 3']);
    expect(resolved).toEqual([1, 2, 3]); // each once
  });

  it('holds live items during a replay, drops those the replay covers, and releases the rest after the replayed ones', async () => {
    const { queue, told, pull } = queueOf();
    queue.hold();
    queue.pushLive(1);
    queue.pushLive(2);
    queue.pushLive(3);
    queue.pushReplayed(7);
    queue.cover((n) => n === 2);
    queue.release();
    queue.pushLive(4);
    queue.pushLive(2); // a lagging live feed hands over a covered item again: still the replay's
    expect(await pull(4)).toEqual(['replayed 7', 'live 1', 'live 3', 'live 4']);
    expect(told).toEqual(['resume']);
  });

  it('does not count held items until the replay says which are its own: a lagging live feed may hand over all it replays', () => {
    const { queue, told } = queueOf();
    queue.hold();
    for (let n = 1; n <= 50; n++) queue.pushLive(n);
    expect(told).toEqual([]);
    queue.cover((n) => n <= 48);
    expect(told).toEqual([]);
    queue.pushLive(51);
    expect(told).toEqual([]);
    queue.pushLive(52); // 49 to 52 held: more than the 3 it may have
    expect(told).toEqual(['too slow: 4']);
    expect(queue.closed).toBe(true);
  });

  it('closes a subscriber with more live items held than it may have, counted once the covered ones are known', () => {
    const { queue, told } = queueOf();
    queue.hold();
    for (const n of [1, 2, 3, 4]) queue.pushLive(n);
    expect(told).toEqual([]);
    queue.cover(() => false);
    expect(told).toEqual(['too slow: 4']);
    expect(queue.closed).toBe(true);
  });

  it('yields a failure before anything still waiting, then ends; nothing is queued after it', async () => {
    const { queue, pull } = queueOf();
    queue.pushReplayed(1);
    const waiting = queue.next();
    queue.pushLive(2);
    await waiting;
    queue.fail('failed');
    queue.pushLive(3);
    expect(await pull(10)).toEqual(['failed', 'live 2']);
  });

  it('ends a waiting pull when the subscriber leaves, drops what waits, and runs onReturn', async () => {
    const { queue, told, resolved } = queueOf();
    const waiting = queue.next();
    expect(await queue.return()).toEqual({ done: true, value: undefined });
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(told).toEqual(['returned']);
    queue.pushLive(1);
    expect(await queue.next()).toEqual({ done: true, value: undefined });
    expect(resolved).toEqual([]);
  });

  it('lets the subscriber leave while a pulled item is still being resolved', async () => {
    let finish: ((value: string) => void) | undefined;
    const { queue, told } = queueOf({
      resolve: () => new Promise<string>((resolve) => (finish = resolve)),
    });
    queue.pushLive(1);
    queue.pushLive(2);
    const resolving = queue.next();
    await queue.return();
    expect(told).toEqual(['returned']);
    finish!('live 1');
    expect(await resolving).toEqual({ done: false, value: 'live 1' });
    expect(await queue.next()).toEqual({ done: true, value: undefined });
  });
});
