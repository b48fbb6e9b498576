import { z } from 'zod';
import { DEV_SECRETS, serviceEnvSchema } from '@waooaw/shared';

const flag = (fallback: 'true' | 'false') =>
  z
    .enum(['true', 'false'])
    .default(fallback)
    .transform((v) => v === 'true');

export const environmentSchema = serviceEnvSchema(4000).extend({
  /** The gateway's own database: the audit log. */
  GATEWAY_DB: z.string().min(1).default('waooaw-gateway'),
  /** HS256 secret of client tokens (development); production uses JWT_JWKS_URL (RS256). */
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').default(DEV_SECRETS.JWT_SECRET),
  JWT_JWKS_URL: z.string().url().optional(),
  JWT_ISSUER: z.string().default('waooaw'),
  JWT_AUDIENCE: z.string().default('waooaw-api'),
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
  SANDBOX: flag('true'),
  /** Events waiting for one subscriber before it is closed as too slow. */
  SUBSCRIPTION_MAX_BUFFERED: z.coerce.number().int().min(1).default(1000),
});

export type Environment = z.output<typeof environmentSchema>;
