import {
  backoffDelay,
  childTraceparent,
  isTraceparent,
  newTraceparent,
  retryTransient,
  traceIdOf,
} from '../index';

describe('backoff with jitter', () => {
  const policy = { initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 'NONE' as const };

  it('grows exponentially and is capped', () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, policy))).toEqual([100, 200, 400, 800, 1000]);
  });

  it('keeps every jitter strategy inside its bounds', () => {
    for (let attempt = 1; attempt <= 6; attempt++) {
      const cap = Math.min(1000, 100 * 2 ** (attempt - 1));
      for (const r of [0, 0.5, 0.999]) {
        const full = backoffDelay(attempt, { ...policy, jitter: 'FULL' }, 100, () => r);
        expect(full).toBeGreaterThanOrEqual(0);
        expect(full).toBeLessThan(cap);
        const equal = backoffDelay(attempt, { ...policy, jitter: 'EQUAL' }, 100, () => r);
        expect(equal).toBeGreaterThanOrEqual(cap / 2);
        expect(equal).toBeLessThanOrEqual(cap);
        const decorrelated = backoffDelay(attempt, { ...policy, jitter: 'DECORRELATED' }, 300, () => r);
        expect(decorrelated).toBeGreaterThanOrEqual(100);
        expect(decorrelated).toBeLessThanOrEqual(900);
      }
    }
  });
});

describe('retryTransient', () => {
  const fast = { initialMs: 1, maxMs: 2, multiplier: 2, jitter: 'NONE' as const };
  const refused = () =>
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9092'), { code: 'ECONNREFUSED' });

  it('tries again while the failure is transient, and returns what finally works', async () => {
    let calls = 0;
    const value = await retryTransient(
      async () => {
        if (++calls < 3) throw refused();
        return 'ok';
      },
      { policy: fast },
    );
    expect([value, calls]).toEqual(['ok', 3]);
  });

  it('throws a permanent failure at once, and a transient one after the last try', async () => {
    let calls = 0;
    const permanent = retryTransient(
      async () => {
        calls++;
        throw new RangeError('bad input');
      },
      { policy: fast },
    );
    await expect(permanent).rejects.toThrow('bad input');
    expect(calls).toBe(1);
    calls = 0;
    const transient = retryTransient(
      async () => {
        calls++;
        throw refused();
      },
      { tries: 4, policy: fast },
    );
    await expect(transient).rejects.toThrow('ECONNREFUSED');
    expect(calls).toBe(4);
  });
});

describe('W3C trace context', () => {
  it('continues a trace with a new span and starts one when the parent is bad', () => {
    const parent = newTraceparent();
    expect(isTraceparent(parent)).toBe(true);
    const child = childTraceparent(parent);
    expect(traceIdOf(child)).toBe(traceIdOf(parent));
    expect(child).not.toBe(parent);
    const fresh = childTraceparent('garbage');
    expect(isTraceparent(fresh)).toBe(true);
    expect(isTraceparent('00-00000000000000000000000000000000-b7ad6b7169203331-01')).toBe(false);
  });

  it('hands out distinct valid ids across many refills of its random pool', () => {
    // 2,000 traces take 48 KB of random bytes: a dozen refills of the 4 KiB pool.
    const parents = Array.from({ length: 2000 }, () => newTraceparent());
    const children = parents.map((p) => childTraceparent(p));
    expect(parents.every(isTraceparent) && children.every(isTraceparent)).toBe(true);
    const traceIds = new Set(parents.map((p) => p.split('-')[1]));
    const spanIds = new Set([...parents, ...children].map((p) => p.split('-')[2]));
    expect(traceIds.size).toBe(2000);
    expect(spanIds.size).toBe(4000);
  });
});
