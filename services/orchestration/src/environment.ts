import { z } from 'zod';
import { LOAD_BALANCING_STRATEGIES, PORTS, serviceEnvSchema } from '@waooaw/shared';

export const environmentSchema = serviceEnvSchema(PORTS.orchestration).extend({
  ORCHESTRATION_DB: z.string().min(1).default('waooaw-orchestration'),
  /** Waiting this long raises a queued task by one priority level, so low priorities never starve. */
  TASK_AGING_STEP_MS: z.coerce.number().int().positive().default(30_000),
  /** How often the dispatcher and the timeout sweep run without being woken. */
  ORCHESTRATION_TICK_MS: z.coerce.number().int().min(10).default(250),
  /** How often running workflows and sagas are checked (after a restart, and as a safety net). */
  ORCHESTRATION_RECONCILE_MS: z.coerce.number().int().min(100).default(5000),
  TASK_DEFAULT_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  TASK_DEFAULT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  TASK_RETRY_INITIAL_MS: z.coerce.number().int().min(0).default(200),
  TASK_RETRY_MAX_MS: z.coerce.number().int().min(0).default(10_000),
  TASK_RETRY_JITTER: z.enum(['NONE', 'FULL', 'EQUAL', 'DECORRELATED']).default('FULL'),
  TASK_DEFAULT_STRATEGY: z.enum(LOAD_BALANCING_STRATEGIES).default('WEIGHTED'),
  /**
   * Tasks one customer may have queued or running at once (QUOTA_EXCEEDED beyond). Operators and
   * admins are not limited (see quota.ts): the bench submits as an operator.
   */
  MAX_QUEUED_TASKS_PER_CUSTOMER: z.coerce.number().int().positive().default(1000),
  /** Workflows one customer may have running at once (QUOTA_EXCEEDED beyond). */
  MAX_RUNNING_WORKFLOWS_PER_CUSTOMER: z.coerce.number().int().positive().default(100),
});

export type Environment = z.output<typeof environmentSchema>;
