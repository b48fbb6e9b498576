import path from 'node:path';
import { z } from 'zod';
import { PORTS, serviceEnvSchema } from '@waooaw/shared';

export const environmentSchema = serviceEnvSchema(PORTS.factory).extend({
  FACTORY_DB: z.string().min(1).default('waooaw-factory'),
  /** Load agents/definitions at start (the platform's catalogue); off to start empty. */
  FACTORY_LOAD_CATALOGUE: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  FACTORY_CATALOGUE_DIR: z.string().default(path.resolve(__dirname, '../../../agents/definitions')),
});

export type Environment = z.output<typeof environmentSchema>;
