import { z } from 'zod';
import { DEV_SECRETS, PORTS, serviceEnvSchema } from '@waooaw/shared';
import { isAddressOrCidr } from './client-address';

const flag = (fallback: 'true' | 'false') =>
  z
    .enum(['true', 'false'])
    .default(fallback)
    .transform((v) => v === 'true');

export const environmentSchema = serviceEnvSchema(PORTS.gateway).extend({
  /** The gateway's own database: the audit log. */
  GATEWAY_DB: z.string().min(1).default('waooaw-gateway'),
  /** HS256 secret of client tokens (development); production uses JWT_JWKS_URL (RS256). */
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').default(DEV_SECRETS.JWT_SECRET),
  JWT_JWKS_URL: z.string().url().optional(),
  JWT_ISSUER: z.string().default('waooaw'),
  JWT_AUDIENCE: z.string().default('waooaw-api'),
  /**
   * Client tokens issued (iat) longer ago than this are refused, whatever their exp says; tokens
   * without exp are always refused. Unset: DEFAULT_JWT_MAX_AGE_SECONDS of auth.ts (a day).
   */
  JWT_MAX_AGE_SECONDS: z.coerce.number().int().min(60).optional(),
  /** Introspection (and so Sandbox) outside production, unless set. */
  INTROSPECTION: z.enum(['true', 'false']).optional(),
  /** Request limits (gateway/src/limits.ts): levels of nesting, introspection included. */
  MAX_QUERY_DEPTH: z.coerce.number().int().min(1).default(15),
  /** Fields an operation may resolve, a list's children once per item of its page. */
  MAX_QUERY_COST: z.coerce.number().int().min(1).default(2000),
  MAX_QUERY_ALIASES: z.coerce.number().int().min(0).default(30),
  MAX_QUERY_DIRECTIVES: z.coerce.number().int().min(0).default(50),
  /** Tokens in a document; the parser stops reading at the limit. */
  MAX_QUERY_TOKENS: z.coerce.number().int().min(1).default(500),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(100),
  /** Query cost units per rate-limit token (a request is charged its cost, at least one token). */
  RATE_LIMIT_COST_PER_TOKEN: z.coerce.number().int().min(1).default(100),
  /**
   * Proxies (addresses or CIDR blocks, comma-separated) whose `x-forwarded-for` is believed; none by
   * default, so a client cannot choose the address it is rate-limited by.
   */
  TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((list) =>
      list
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean),
    )
    .refine((entries) => entries.every(isAddressOrCidr), {
      message: 'must be IP addresses or CIDR blocks (10.0.0.0/8), comma-separated',
    }),
  SANDBOX: flag('true'),
  /** Events waiting for one subscriber before it is closed as too slow. */
  SUBSCRIPTION_MAX_BUFFERED: z.coerce.number().int().min(1).default(1000),
  /**
   * How long a subscription cursor (`after`) stays valid after the gateway issued it; an older one is
   * refused with CURSOR_EXPIRED (the client reloads its state instead of replaying a day of events).
   */
  SUBSCRIPTION_RESUME_MAX_AGE_SECONDS: z.coerce.number().int().min(1).default(86_400),
  /** Lifetime of the caller tokens forwarded to subgraphs; each is renewed once half of it is gone. */
  CALLER_TOKEN_TTL_SECONDS: z.coerce.number().int().min(2).default(60),
  /** Largest WebSocket message the gateway reads (1 MiB); a bigger one closes the socket with 1009. */
  WS_MAX_PAYLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  /** Operations (subscriptions and queries in flight) one socket may run at once. */
  WS_MAX_SUBSCRIPTIONS_PER_SOCKET: z.coerce.number().int().min(1).default(50),
  /** Open sockets per caller (signed-in callers by their id, anonymous ones by their address). */
  WS_MAX_CONNECTIONS_PER_CALLER: z.coerce.number().int().min(1).default(20),
  /**
   * Subscriptions one caller may hold at once across all its sockets (signed-in callers by their id,
   * anonymous ones by their address); one more is refused with TOO_MANY_SUBSCRIPTIONS.
   */
  WS_MAX_SUBSCRIPTIONS_PER_CALLER: z.coerce.number().int().min(1).default(200),
  /**
   * Subscription payload resolutions (the gateway's own queries for events' entity fields) in flight
   * at once, over all subscribers; the rest wait. Not charged to the callers' rate limits.
   */
  SUBSCRIPTION_RESOLVE_CONCURRENCY: z.coerce.number().int().min(1).default(64),
});

export type Environment = z.output<typeof environmentSchema>;
