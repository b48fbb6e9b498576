import { z } from 'zod';
import { DEFAULT_GATEWAY_URL, PORTS, serviceEnvSchema } from '@waooaw/shared';

export const environmentSchema = serviceEnvSchema(PORTS.identity).extend({
  IDENTITY_DB: z.string().min(1).default('waooaw-identity'),
  /** Where agents are reachable for A2A discovery (the gateway). */
  A2A_BASE_URL: z.string().url().default(DEFAULT_GATEWAY_URL),
});

export type Environment = z.output<typeof environmentSchema>;
