import { z } from 'zod';
import { serviceEnvSchema } from '@waooaw/shared';

export const environmentSchema = serviceEnvSchema(4001).extend({
  IDENTITY_DB: z.string().min(1).default('waooaw-identity'),
  /** Where agents are reachable for A2A discovery (the gateway). */
  A2A_BASE_URL: z.string().url().default('http://localhost:4000'),
});

export type Environment = z.output<typeof environmentSchema>;
