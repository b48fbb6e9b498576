import { DeadlineExceededError, isTransientError, valueWithin, within } from '../index';

const never = () => new Promise<never>(() => undefined);

describe('within', () => {
  it("passes on the work's value or error when it settles in time", async () => {
    await expect(within(Promise.resolve(7), 1_000)).resolves.toBe(7);
    await expect(within(Promise.reject(new Error('handler broke')), 1_000)).rejects.toThrow('handler broke');
  });

  it('rejects with a transient TimeoutError naming the limit when the work is late', async () => {
    const late = await within(never(), 10).catch((err: unknown) => err);
    expect(late).toBeInstanceOf(DeadlineExceededError);
    expect((late as Error).name).toBe('TimeoutError');
    expect((late as Error).message).toBe('timed out after 10 ms');
    // A consumer waits out a timeout rather than dead-lettering the message.
    expect(isTransientError(late)).toBe(true);
  });
});

describe('valueWithin', () => {
  it('gives undefined instead of an error, late or failed', async () => {
    expect(await valueWithin(Promise.resolve('count'), 1_000)).toBe('count');
    expect(await valueWithin(Promise.reject(new Error('MongoDB down')), 1_000)).toBeUndefined();
    expect(await valueWithin(never(), 10)).toBeUndefined();
  });
});
