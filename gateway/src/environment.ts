import { z } from 'zod';
import { DEV_SECRETS, serviceEnvSchema } from '@waooaw/shared';
import { isAddressOrCidr } from './client-address';

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
  MAX_QUERY_DEPTH: z.coerce.number().int().min(1).default(12),
  MAX_QUERY_COST: z.coerce.number().int().min(1).default(2000),
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
});

export type Environment = z.output<typeof environmentSchema>;
