import { ErrorCode, PlatformError, toPlatformError } from '../index';

describe('errors a client sees', () => {
  it('tells a dependency that did not answer (retry) from a bug (do not)', () => {
    // How the MongoDB driver reports a connection reset in the middle of a request.
    const reset = Object.assign(new Error('read ECONNRESET'), { name: 'MongoNetworkError' });
    const mapped = toPlatformError(reset);
    expect(mapped.extensions).toEqual({ code: ErrorCode.SERVICE_UNAVAILABLE, retryAfterSeconds: 5 });
    expect(mapped.message).toMatch(/did not answer.*retry it in 5 seconds/);
    // Nothing of the driver's message leaks to the client.
    expect(mapped.message).not.toContain('ECONNRESET');

    const bug = toPlatformError(new TypeError("Cannot read properties of undefined (reading 'x')"));
    expect(bug.extensions).toEqual({ code: ErrorCode.INTERNAL_SERVER_ERROR });
    expect(bug.message).toBe('Internal server error; it has been logged');
  });

  it('passes a platform error through as it is', () => {
    const err = new PlatformError(ErrorCode.QUOTA_EXCEEDED, 'Too much queued', { limit: 3 });
    expect(toPlatformError(err)).toBe(err);
  });
});
