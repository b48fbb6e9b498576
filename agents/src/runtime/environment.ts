import { hostname } from 'node:os';
import { z } from 'zod';
import { serviceEnvSchema } from '@waooaw/shared';

export const environmentSchema = serviceEnvSchema(4010).extend({
  /** Names the runtime's inbox topic and prefixes its instance ids; keep it stable across restarts. */
  RUNTIME_ID: z
    .string()
    .regex(
      /^[a-zA-Z0-9._-]{1,100}$/,
      'use letters, digits, dot, dash or underscore (a Kafka topic name part)',
    )
    .default(
      `rt-${hostname()
        .replace(/[^a-zA-Z0-9._-]/g, '-')
        .slice(0, 90)}`,
    ),
  HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(100).default(2000),
  /** Silence after which discovery considers an instance UNKNOWN: a few missed heartbeats. */
  INSTANCE_TTL_SECONDS: z.coerce.number().positive().default(10),
  /** Orchestration's subgraph, where WowAnalytics reads task figures. */
  ORCHESTRATION_URL: z.string().url().default('http://localhost:4004/graphql'),
});

export type Environment = z.output<typeof environmentSchema>;
