import type { EndedAttempt, RetryPolicy } from './attempt-outcome';
import { decideAttemptEnd, pastDeadline } from './attempt-outcome';

const NOW = Date.parse('2026-01-01T00:00:00.000Z');

const policy = (overrides: Partial<RetryPolicy> = {}): RetryPolicy => ({
  maxAttempts: 3,
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
  multiplier: 2,
  jitter: 'NONE',
  ...overrides,
});

const ended = (
  overrides: Partial<EndedAttempt> = {},
  task: Partial<EndedAttempt['task']> = {},
): EndedAttempt => ({
  outcome: 'FAILED',
  error: 'boom',
  attempts: 1,
  instanceId: 'i-1',
  ...overrides,
  task: {
    retryPolicy: policy(),
    timeoutMs: 5000,
    deadline: null,
    lastDelayMs: 0,
    avoidInstanceIds: [],
    ...task,
  },
});

describe('pastDeadline', () => {
  it('is false without a deadline, true from the deadline on', () => {
    expect(pastDeadline({ deadline: null }, NOW)).toBe(false);
    expect(pastDeadline({ deadline: new Date(NOW + 1) }, NOW)).toBe(false);
    expect(pastDeadline({ deadline: new Date(NOW) }, NOW)).toBe(true);
    expect(pastDeadline({ deadline: new Date(NOW - 1) }, NOW)).toBe(true);
  });
});

describe('decideAttemptEnd', () => {
  it('completes a task whose attempt succeeded, whatever attempts or deadline are left', () => {
    expect(decideAttemptEnd(ended({ outcome: 'SUCCEEDED' }, { deadline: new Date(NOW - 1) }), NOW)).toEqual({
      status: 'COMPLETED',
    });
  });

  it('rejects without a retry when the agent refused the input, with its reason or a default one', () => {
    expect(decideAttemptEnd(ended({ outcome: 'REJECTED', error: 'not a URL' }), NOW)).toEqual({
      status: 'REJECTED',
      error: 'not a URL',
    });
    expect(decideAttemptEnd(ended({ outcome: 'REJECTED', error: undefined }), NOW)).toEqual({
      status: 'REJECTED',
      error: 'the agent refused the input',
    });
  });

  it('retries a failure or a timeout with attempts left, after the backoff of that attempt', () => {
    expect(decideAttemptEnd(ended({ attempts: 1 }), NOW)).toEqual({
      status: 'SUBMITTED',
      delayMs: 1000,
      avoidInstanceIds: ['i-1'],
    });
    expect(decideAttemptEnd(ended({ outcome: 'TIMED_OUT', attempts: 2 }), NOW)).toMatchObject({
      status: 'SUBMITTED',
      delayMs: 2000,
    });
    const capped = ended({ attempts: 9 }, { retryPolicy: policy({ maxAttempts: 10, maxDelayMs: 5000 }) });
    expect(decideAttemptEnd(capped, NOW)).toMatchObject({ delayMs: 5000 });
  });

  it('draws the jitter from `random`, decorrelated jitter growing from the last delay (the first from the initial)', () => {
    const full = ended({ attempts: 2 }, { retryPolicy: policy({ jitter: 'FULL' }) });
    expect(decideAttemptEnd(full, NOW, () => 0.5)).toMatchObject({ delayMs: 1000 });
    const first = ended({}, { retryPolicy: policy({ jitter: 'DECORRELATED' }), lastDelayMs: 0 });
    // upper bound max(initial, previous * 3) = 3000 with previous = the initial delay
    expect(decideAttemptEnd(first, NOW, () => 0.5)).toMatchObject({ delayMs: 2000 });
    const later = ended(
      { attempts: 2 },
      { retryPolicy: policy({ jitter: 'DECORRELATED' }), lastDelayMs: 4000 },
    );
    expect(decideAttemptEnd(later, NOW, () => 0.5)).toMatchObject({ delayMs: 6500 });
  });

  it('sends a retry away from the instance that failed it, each instance named once', () => {
    const again = ended({ instanceId: 'i-2', attempts: 2 }, { avoidInstanceIds: ['i-1', 'i-2'] });
    expect(decideAttemptEnd(again, NOW)).toMatchObject({ avoidInstanceIds: ['i-1', 'i-2'] });
    const other = ended({ instanceId: 'i-3', attempts: 2 }, { avoidInstanceIds: ['i-1'] });
    expect(decideAttemptEnd(other, NOW)).toMatchObject({ avoidInstanceIds: ['i-1', 'i-3'] });
  });

  it('fails for good once the attempts are used up, saying which attempt and why', () => {
    expect(decideAttemptEnd(ended({ attempts: 3, error: 'boom' }), NOW)).toEqual({
      status: 'FAILED',
      error: 'attempt 3 of 3: boom',
    });
    expect(decideAttemptEnd(ended({ attempts: 3, error: undefined }), NOW)).toEqual({
      status: 'FAILED',
      error: 'attempt 3 of 3: failed',
    });
    expect(decideAttemptEnd(ended({ outcome: 'TIMED_OUT', attempts: 3, error: 'late' }), NOW)).toEqual({
      status: 'FAILED',
      error: 'attempt 3 of 3: no answer within 5000 ms',
    });
  });

  it('fails for good once the deadline has passed, attempts left or not', () => {
    expect(decideAttemptEnd(ended({ attempts: 1 }, { deadline: new Date(NOW) }), NOW)).toEqual({
      status: 'FAILED',
      error: 'attempt 1 of 3: boom',
    });
    expect(decideAttemptEnd(ended({ attempts: 1 }, { deadline: new Date(NOW + 1) }), NOW)).toMatchObject({
      status: 'SUBMITTED',
    });
  });
});
