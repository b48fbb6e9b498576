import { z } from 'zod';
import type { HealthThresholds } from '@waooaw/shared';
import {
  DEFAULT_HEALTH_THRESHOLDS,
  LOAD_BALANCING_STRATEGIES,
  PORTS,
  serviceEnvSchema,
  validateHealthThresholds,
} from '@waooaw/shared';

const positive = (fallback: number) => z.coerce.number().positive().default(fallback);
const count = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const rate = (fallback: number) => z.coerce.number().gt(0).max(1).default(fallback);
const t = DEFAULT_HEALTH_THRESHOLDS;

export const environmentSchema = serviceEnvSchema(PORTS.discovery)
  .extend({
    DISCOVERY_DB: z.string().min(1).default('waooaw-discovery'),
    /** How often silent instances, due breakers and old records are looked for. */
    DISCOVERY_SWEEP_INTERVAL_MS: count(1000),
    /** An instance silent this long past its TTL is removed from the registry. */
    DISCOVERY_REMOVE_AFTER_SECONDS: positive(300),
    /** Deregistered and removed instances are kept this long for the record. */
    DISCOVERY_RETENTION_HOURS: positive(24),
    /** selectAgent's strategy when the query names none. */
    DISCOVERY_DEFAULT_STRATEGY: z.enum(LOAD_BALANCING_STRATEGIES).default('WEIGHTED'),
    HEALTH_DEGRADED_LATENCY_MS: positive(t.degradedLatencyMs),
    HEALTH_UNHEALTHY_LATENCY_MS: positive(t.unhealthyLatencyMs),
    HEALTH_DEGRADED_ERROR_RATE: rate(t.degradedErrorRate),
    HEALTH_UNHEALTHY_ERROR_RATE: rate(t.unhealthyErrorRate),
    /** Consecutive observations before health gets worse / better (hysteresis). */
    HEALTH_WORSEN_AFTER: count(t.worsenAfter),
    HEALTH_IMPROVE_AFTER: count(t.improveAfter),
  })
  .superRefine((env, ctx) => {
    for (const problem of validateHealthThresholds(healthThresholds(env)))
      ctx.addIssue({ code: 'custom', message: problem, path: ['HEALTH_*'] });
  });

export type Environment = z.output<typeof environmentSchema>;

export type HealthEnv = Pick<
  Environment,
  | 'HEALTH_DEGRADED_LATENCY_MS'
  | 'HEALTH_UNHEALTHY_LATENCY_MS'
  | 'HEALTH_DEGRADED_ERROR_RATE'
  | 'HEALTH_UNHEALTHY_ERROR_RATE'
  | 'HEALTH_WORSEN_AFTER'
  | 'HEALTH_IMPROVE_AFTER'
>;

export function healthThresholds(env: HealthEnv): HealthThresholds {
  return {
    degradedLatencyMs: env.HEALTH_DEGRADED_LATENCY_MS,
    unhealthyLatencyMs: env.HEALTH_UNHEALTHY_LATENCY_MS,
    degradedErrorRate: env.HEALTH_DEGRADED_ERROR_RATE,
    unhealthyErrorRate: env.HEALTH_UNHEALTHY_ERROR_RATE,
    worsenAfter: env.HEALTH_WORSEN_AFTER,
    improveAfter: env.HEALTH_IMPROVE_AFTER,
  };
}
