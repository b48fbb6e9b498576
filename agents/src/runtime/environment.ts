import { hostname } from 'node:os';
import { z } from 'zod';
import { defaultSubgraphUrl, PORTS, serviceEnvSchema } from '@waooaw/shared';
import type { LlmProvider } from '../llm';
import { createOpenAiCompatibleProvider } from '../llm';

/** An unset variable; `VAR=` in a .env file or compose file means unset too. */
const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value);

export const environmentSchema = serviceEnvSchema(PORTS['agents-runtime']).extend({
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
  ORCHESTRATION_URL: z.string().url().default(defaultSubgraphUrl('orchestration')),
  /** The factory's subgraph, where WowAgentFactory validates definitions. */
  FACTORY_URL: z.string().url().default(defaultSubgraphUrl('factory')),
  /**
   * An OpenAI-compatible API root (e.g. http://127.0.0.1:8080/v1) whose model adds notes to Markdown
   * deliverables. Unset: no LLM, skills' deterministic output only.
   */
  LLM_BASE_URL: z.preprocess(unsetIfEmpty, z.string().url().optional()),
  LLM_API_KEY: z.preprocess(unsetIfEmpty, z.string().optional()),
  LLM_MODEL: z.string().min(1).default('gpt-4o-mini'),
  /** Per completion; the attempt's own timeout still bounds skill plus enrichment. */
  LLM_TIMEOUT_MS: z.coerce.number().int().min(100).default(8000),
});

export type Environment = z.output<typeof environmentSchema>;

/** The LLM the configuration names, or undefined when LLM_BASE_URL is unset (enrichment off). */
export function llmProviderFromConfig(
  config: Pick<Environment, 'LLM_BASE_URL' | 'LLM_API_KEY' | 'LLM_MODEL' | 'LLM_TIMEOUT_MS'>,
): LlmProvider | undefined {
  if (!config.LLM_BASE_URL) return undefined;
  return createOpenAiCompatibleProvider({
    baseUrl: config.LLM_BASE_URL,
    model: config.LLM_MODEL,
    timeoutMs: config.LLM_TIMEOUT_MS,
    ...(config.LLM_API_KEY ? { apiKey: config.LLM_API_KEY } : {}),
  });
}
