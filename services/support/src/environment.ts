import { z } from 'zod';
import { PORTS, serviceEnvSchema } from '@waooaw/shared';

/** Seconds, fractions allowed (a test can run an SLA of 0.5 s), up to 30 days. */
const seconds = (fallback: number) =>
  z.coerce
    .number()
    .positive('must be a positive number of seconds (fractions allowed, e.g. 0.5)')
    .max(30 * 86_400, 'must be at most 30 days')
    .default(fallback);

export const environmentSchema = serviceEnvSchema(PORTS.support).extend({
  SUPPORT_DB: z.string().min(1).default('waooaw-support'),
  /** Each tier's SLA: it resolves the ticket or hands it on within this; a breach escalates (SLA_BREACH). */
  SUPPORT_SLA_L1_SECONDS: seconds(60),
  SUPPORT_SLA_L2_SECONDS: seconds(900),
  SUPPORT_SLA_L3_SECONDS: seconds(7200),
  /** How often SLA deadlines are checked (and resolved tickets past the reopen window closed). */
  SUPPORT_SWEEP_INTERVAL_MS: z.coerce.number().int().min(10).default(5_000),
  /** Days after resolution during which the customer may reopen a ticket. */
  SUPPORT_REOPEN_DAYS: z.coerce.number().positive().default(7),
  /** L1 resolves only when WowSupport says so with at least this confidence (its own threshold is 0.45). */
  SUPPORT_L1_MIN_CONFIDENCE: z.coerce.number().min(0).max(1).default(0.45),
  /** Knowledge-base articles sent with an L1 task at most (the best candidates for the ticket). */
  SUPPORT_L1_MAX_ARTICLES: z.coerce.number().int().min(1).max(50).default(8),
  /** Per-attempt timeouts of the agents' tasks (orchestration retries elsewhere after them). */
  SUPPORT_L1_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  SUPPORT_L2_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(60_000),
  /** Unresolved tickets one customer may have at once. */
  SUPPORT_MAX_OPEN_TICKETS_PER_CUSTOMER: z.coerce.number().int().positive().default(20),
});

export type Environment = z.output<typeof environmentSchema>;
