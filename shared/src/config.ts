import { z } from 'zod';
import { namespaceSchema } from './namespace';

/** Thrown by {@link parseConfig}; carries one line per invalid or missing variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

const brokers = z
  .string()
  .trim()
  .min(1)
  .transform((value) => value.split(',').map((b) => b.trim()))
  .refine(
    (list) => list.every((b) => /^[^\s:]+:\d{1,5}$/.test(b)),
    'must be a comma-separated list of host:port',
  );

/**
 * Development defaults of secrets, so `npm start` works with no setup. parseConfig refuses to start
 * a production process (NODE_ENV=production) that still has one of them.
 */
export const DEV_SECRETS = {
  CALLER_TOKEN_SECRET: 'dev-only-caller-token-secret-change-me!',
  JWT_SECRET: 'dev-only-jwt-secret-change-me-please!!',
} as const;

/** Variables every WAOOAW process understands. Services extend it with their own. */
export const baseEnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KAFKA_BROKERS: brokers.default(['127.0.0.1:9092']),
  KAFKA_DEFAULT_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(3),
  /**
   * Separates this platform from others on the same Kafka and MongoDB: prefixes every topic (`<ns>.`),
   * consumer group (`<ns>.`) and database (`<ns>_`) of the process. Empty (the default): plain names.
   * Every process of one platform needs the same value (see shared/src/namespace.ts).
   */
  WAOOAW_NAMESPACE: namespaceSchema,
  /**
   * Prefixes every consumer group of the process. Groups only: topics stay shared, so this does not
   * separate two platforms on one broker (WAOOAW_NAMESPACE does).
   */
  KAFKA_GROUP_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9._-]*$/, 'use letters, digits, dot, dash or underscore')
    .default(''),
  /**
   * Where a new consumer group (no committed offset) of the consumers that project other services'
   * events starts: at the beginning of each topic (true, the default: views and projections are
   * rebuilt from history) or at its end (false: only what comes next, for a platform on a broker
   * that holds others' history, as in the tests). Those are discovery's, the marketplace's,
   * support's and orchestration's instance registry. The consumers of work addressed to one service
   * (commands, attempt results, the factory's registration outcomes, a runtime's inbox) start at the
   * beginning whatever it says: nothing later restates such a message, so skipping one would lose
   * work, while reading an old one again is harmless (each is handled once, by id). The gateway's
   * live feeds always start at the end.
   */
  KAFKA_FROM_BEGINNING: z
    .enum(['true', 'false'], { message: 'must be true or false' })
    .default('true')
    .transform((v) => v === 'true'),
  /**
   * Every this many ms, log (at warn) the slowest MongoDB commands of the period by kind, collection
   * and filter fields, with counts and average and maximum times; 0 (the default) turns it off. A
   * diagnostic for load runs (`npm run bench`), at the cost of watching every command.
   */
  MONGO_COMMAND_STATS_MS: z.coerce.number().int().min(0).default(0),
  MONGO_URL: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\/\S+$/, 'must be a mongodb:// or mongodb+srv:// URL')
    .default('mongodb://127.0.0.1:27017'),
  /** HMAC secret the gateway signs forwarded caller claims with; subgraphs verify them. */
  CALLER_TOKEN_SECRET: z
    .string()
    .min(32, 'must be at least 32 characters')
    .default(DEV_SECRETS.CALLER_TOKEN_SECRET),
});

/** The base variables plus an HTTP port with the service's default (one of PORTS, ports.ts). */
export function serviceEnvSchema(defaultPort: number) {
  return baseEnvSchema.extend({
    HOST: z.string().default('0.0.0.0'),
    PORT: z.coerce.number().int().min(0).max(65535).default(defaultPort),
    /**
     * The port Prometheus `/metrics` is served on (on HOST), and the only one: PORT never serves it,
     * so publishing PORT does not publish the metrics. Unset or 0: no metrics. `npm start` sets it
     * to each service's port + 5000; docker-compose.yml to 9464 inside every container.
     */
    METRICS_PORT: z.coerce
      .number()
      .int()
      .min(0)
      .max(65535)
      .optional()
      .transform((v) => (v === 0 ? undefined : v)),
  });
}

/** Parses env against a zod schema; every problem is reported at once, not only the first. */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) {
    const values = result.data as Record<string, unknown>;
    const devSecrets =
      values.NODE_ENV === 'production'
        ? Object.entries(DEV_SECRETS).filter(([name, dev]) => values[name] === dev)
        : [];
    if (devSecrets.length === 0) return result.data;
    throw new ConfigError(
      devSecrets.map(
        ([name]) => `${name}: is the development default; set a secret of your own in production`,
      ),
    );
  }
  throw new ConfigError(
    result.error.issues.map(
      (issue) => `${issue.path.map(String).join('.') || '(environment)'}: ${issue.message}`,
    ),
  );
}

/**
 * For a process's start-up: parses env, and on failure prints every problem and exits with 1,
 * rather than starting half-configured.
 */
export function loadConfigOrExit<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
  exit: (code: number) => never = (code) => process.exit(code),
  print: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): z.output<S> {
  try {
    return parseConfig(schema, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    print('Configuration error: fix these environment variables and start again:');
    for (const problem of err.problems) print(`  - ${problem}`);
    return exit(1);
  }
}
