import { readFileSync } from 'node:fs';
import { Kind, parse } from 'graphql';
import type { OperationDefinitionNode } from 'graphql';
import { createClientAuth, signDevToken } from '../auth';
import { composeSupergraph } from '../compose';
import { operationDepth } from '../limits';
import { createRateLimiter } from '../rate-limit';
import { SUPERGRAPH_FILE } from '../subgraphs';

describe('the checked-in supergraph', () => {
  it('is what schemas/*.graphql compose to (run `npm run compose` after changing a subgraph schema)', () => {
    expect(readFileSync(SUPERGRAPH_FILE, 'utf8')).toBe(composeSupergraph());
  });
});

describe('rate limiter', () => {
  it('allows a burst, then refills at the configured rate, per caller', () => {
    let t = 0;
    const take = createRateLimiter({ perMinute: 60, burst: 3, now: () => t });
    expect([take('a'), take('a'), take('a')].every((r) => r.ok)).toBe(true);
    expect(take('a')).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(take('b').ok).toBe(true);
    t += 1000;
    expect(take('a').ok).toBe(true);
    expect(take('a').ok).toBe(false);
  });
});

describe('query depth', () => {
  const depthOf = (query: string) => {
    const document = parse(query);
    return operationDepth(
      document,
      document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode,
    );
  };
  it('follows fragments and ignores introspection', () => {
    expect(depthOf('{ a { b { c } } }')).toBe(3);
    expect(depthOf('{ a { ...F } } fragment F on T { b { c { d } } }')).toBe(4);
    expect(depthOf('{ __schema { types { fields { type { ofType { ofType { name } } } } } } a }')).toBe(1);
  });
});

describe('client tokens', () => {
  const config = {
    JWT_SECRET: 'unit-test-jwt-secret-of-enough-length!!',
    JWT_ISSUER: 'waooaw',
    JWT_AUDIENCE: 'waooaw-api',
  };
  const callerFrom = createClientAuth(config);
  it('verifies a dev token and reads its roles', async () => {
    const token = await signDevToken({ sub: 'u-1', roles: ['operator'] }, config);
    await expect(callerFrom(`Bearer ${token}`)).resolves.toEqual({ sub: 'u-1', roles: ['operator'] });
    await expect(callerFrom(undefined)).resolves.toBeNull();
  });
  it('refuses a token signed with another secret, an expired one, or a malformed header', async () => {
    const other = await signDevToken(
      { sub: 'u-1', roles: ['admin'] },
      { ...config, JWT_SECRET: 'another-secret-that-is-long-enough-too' },
    );
    await expect(callerFrom(`Bearer ${other}`)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
    const expired = await signDevToken({ sub: 'u-1', roles: ['admin'] }, config, '-1s');
    await expect(callerFrom(`Bearer ${expired}`)).rejects.toThrow(/invalid or expired/);
    await expect(callerFrom('Basic abc')).rejects.toThrow(/Bearer/);
  });
});
