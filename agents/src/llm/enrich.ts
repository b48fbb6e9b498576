import type { Logger } from '@waooaw/shared';
import type { SkillResult } from '../skills/types';
import type { LlmProvider, LlmRequest } from './provider';

/** What the runtime knows about a finished attempt whose deliverable may be enriched. */
export interface EnrichmentSubject {
  capability: string;
  /** The agent's display name (its manifest name). */
  agentName: string;
  /** The task's input, as the skill received it. */
  input: unknown;
  /** The skill's deterministic deliverable. */
  output: SkillResult;
}

/** Prompt budgets, in characters: enough context for useful notes, bounded cost per attempt. */
export const INPUT_PROMPT_CHARS = 4_000;
export const DELIVERABLE_PROMPT_CHARS = 8_000;
const NOTES_MAX_TOKENS = 600;

function truncate(text: string, max: number): string {
  return text.length > max
    ? `${text.slice(0, max)}\n… (truncated, ${text.length - max} more characters)`
    : text;
}

function inputJson(input: unknown): string {
  try {
    return JSON.stringify(input ?? null, null, 2);
  } catch {
    // Task inputs arrive as JSON, so this only guards against an odd caller (cycles, BigInt).
    return String(input);
  }
}

/** The prompt asking for notes on a deliverable (exported for tests and for tuning). */
export function enrichmentPrompt(subject: EnrichmentSubject): LlmRequest {
  return {
    system:
      `You are ${subject.agentName}, adding concise, practical notes to a deliverable you produced. ` +
      'Add tips, caveats and next steps the reader can act on. Do not contradict, recompute or restate ' +
      'the figures, facts or recommendations in the deliverable; build on them. Answer in Markdown ' +
      'without a top-level heading, in at most about 200 words.',
    user: [
      `Capability: ${subject.capability}`,
      '',
      'Task input (JSON):',
      truncate(inputJson(subject.input), INPUT_PROMPT_CHARS),
      '',
      `Deliverable "${subject.output.title}" (${subject.output.format}):`,
      truncate(subject.output.content, DELIVERABLE_PROMPT_CHARS),
    ].join('\n'),
    maxTokens: NOTES_MAX_TOKENS,
  };
}

/**
 * The deliverable with the model's notes appended, for Markdown deliverables; JSON deliverables stay
 * as they are (they must remain machine-readable). Never rejects: when the model fails or has
 * nothing to add, the deterministic deliverable is returned unchanged, so enrichment cannot fail a task.
 */
export async function enrichOutput(
  provider: LlmProvider,
  subject: EnrichmentSubject,
  logger: Logger,
): Promise<SkillResult> {
  const { output } = subject;
  if (output.format !== 'text/markdown') return output;
  let notes: string;
  try {
    notes = (await provider.complete(enrichmentPrompt(subject))).trim();
  } catch (err) {
    logger.warn(
      { err, capability: subject.capability, model: provider.model },
      'LLM enrichment failed; keeping the deterministic deliverable',
    );
    return output;
  }
  if (!notes) return output;
  return { ...output, content: `${output.content}\n\n## Further notes (${provider.model})\n\n${notes}` };
}
