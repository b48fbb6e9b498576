import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createClientAuth, signDevToken } from '../auth';
import { composeSupergraph } from '../compose';
import { createRateLimiter } from '../rate-limit';
import { SUPERGRAPH_FILE } from '../subgraphs';
import { callerInputRefusal } from '../subgraph-refusal';

describe('the checked-in supergraph', () => {
  it('is what schemas/*.graphql compose to (run `npm run compose` after changing a subgraph schema)', () => {
    expect(readFileSync(SUPERGRAPH_FILE, 'utf8')).toBe(composeSupergraph());
  });
});

describe('rate limiter', () => {
  it('allows a burst, then refills at the configured rate, per caller', () => {
    let t = 0;
    const { take } = createRateLimiter({ perMinute: 60, burst: 3, now: () => t });
    expect([take('a'), take('a'), take('a')].every((r) => r.ok)).toBe(true);
    expect(take('a')).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(take('b').ok).toBe(true);
    t += 1000;
    expect(take('a').ok).toBe(true);
    expect(take('a').ok).toBe(false);
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

describe('client tokens from a JWKS (RS256)', () => {
  it('verifies tokens signed by a key of the JWKS and refuses HS256 ones', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const server = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const config = {
        JWT_SECRET: 'unit-test-jwt-secret-of-enough-length!!',
        JWT_JWKS_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
        JWT_ISSUER: 'waooaw',
        JWT_AUDIENCE: 'waooaw-api',
      };
      const callerFrom = createClientAuth(config);
      const rs256 = await new SignJWT({ roles: ['support-l2'] })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setSubject('agent-7')
        .setIssuer('waooaw')
        .setAudience('waooaw-api')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey);
      await expect(callerFrom(`Bearer ${rs256}`)).resolves.toEqual({ sub: 'agent-7', roles: ['support-l2'] });
      const hs256 = await signDevToken({ sub: 'u', roles: ['admin'] }, config);
      await expect(callerFrom(`Bearer ${hs256}`)).rejects.toMatchObject({
        extensions: { code: 'UNAUTHENTICATED' },
      });
    } finally {
      server.close();
    }
  });
});

describe("a subgraph's refusal of the caller's input", () => {
  const response = (status: number, errors: unknown[]) => ({ response: { status, body: { errors } } });
  it("passes a 400 whose every error is the caller's on as the caller's error", () => {
    const bad = {
      message: 'DateTime cannot represent an invalid date-time-string x.',
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    };
    expect(callerInputRefusal(response(400, [bad]))).toEqual({
      message: bad.message,
      code: 'GRAPHQL_VALIDATION_FAILED',
    });
    expect(
      callerInputRefusal(
        response(400, [
          { message: 'Variable "$s" got invalid value', extensions: { code: 'BAD_USER_INPUT' } },
        ]),
      ),
    ).toEqual({ message: 'Variable "$s" got invalid value', code: 'BAD_USER_INPUT' });
  });
  it("keeps anything else the gateway's problem", () => {
    const internal = { message: 'boom', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
    const bad = { message: 'bad', extensions: { code: 'BAD_USER_INPUT' } };
    expect(callerInputRefusal(response(400, [bad, internal]))).toBeNull();
    expect(callerInputRefusal(response(401, [bad]))).toBeNull();
    expect(callerInputRefusal(response(400, []))).toBeNull();
    expect(callerInputRefusal({})).toBeNull();
  });
});
