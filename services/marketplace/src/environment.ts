import { z } from 'zod';
import { PORTS, serviceEnvSchema } from '@waooaw/shared';

const count = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const environmentSchema = serviceEnvSchema(PORTS.marketplace).extend({
  MARKETPLACE_DB: z.string().min(1).default('waooaw-marketplace'),
  /** Days before a customer may trial the same agent again after a trial ended. */
  MARKETPLACE_TRIAL_COOLDOWN_DAYS: z.coerce.number().min(0).default(30),
  /** Trials (provisioning or active) one agent may have at once. */
  MARKETPLACE_MAX_TRIALS_PER_AGENT: count(1000),
  /** Trials (provisioning or active) one customer may have at once. */
  MARKETPLACE_MAX_TRIALS_PER_CUSTOMER: count(3),
  /** Tasks one trial may ask for (the first deliverable included). */
  MARKETPLACE_MAX_TASKS_PER_TRIAL: count(50),
  /** How often trials are expired, reminders sent and interrupted activations resumed. */
  MARKETPLACE_SWEEP_INTERVAL_MS: z.coerce.number().int().min(10).default(30_000),
  /**
   * The in-process payment provider declines charges of these customers (comma-separated ids): a
   * stand-in for a refused card, so the declined path can be exercised end to end.
   */
  MARKETPLACE_DECLINE_CUSTOMERS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
});

export type Environment = z.output<typeof environmentSchema>;
