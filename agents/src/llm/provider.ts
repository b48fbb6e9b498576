import { z } from 'zod';

/** One completion: a system prompt, the user's message, and an upper bound on the answer. */
export interface LlmRequest {
  system: string;
  user: string;
  /** Upper bound on the answer's length in tokens (default 512). */
  maxTokens?: number;
}

/** A large language model the runtime may ask for text. Optional: skills never depend on one. */
export interface LlmProvider {
  /** The model's name, as the endpoint knows it (shown next to what it wrote). */
  readonly model: string;
  /** The model's answer to `request`; rejects with an {@link LlmError} when there is none. */
  complete(request: LlmRequest, signal?: AbortSignal): Promise<string>;
}

/** Why a completion failed: the endpoint said no, took too long, answered nonsense, or was unreachable. */
export type LlmErrorReason = 'http' | 'timeout' | 'malformed' | 'network' | 'aborted';

/** A completion that did not happen; `status` is the HTTP status when the endpoint answered. */
export class LlmError extends Error {
  readonly reason: LlmErrorReason;
  readonly status: number | undefined;

  constructor(message: string, details: { reason: LlmErrorReason; status?: number; cause?: unknown }) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'LlmError';
    this.reason = details.reason;
    this.status = details.status;
  }
}

export interface OpenAiCompatibleOptions {
  /** The API root, e.g. `http://127.0.0.1:8080/v1` (requests go to `<baseUrl>/chat/completions`). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>` when set (local servers often need none). */
  apiKey?: string;
  model: string;
  /** Whole request, answer included. */
  timeoutMs: number;
  /** Replaces the global fetch (tests, proxies). */
  fetch?: typeof globalThis.fetch;
}

const DEFAULT_MAX_TOKENS = 512;

/** The part of a Chat Completions answer we read. */
const completionSchema = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string() }) })).min(1),
});

/** At most `max` characters of an error body, on one line. */
const excerpt = (text: string, max = 200) => {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
};

/**
 * A provider for any endpoint speaking the OpenAI Chat Completions wire format (OpenAI, Azure
 * OpenAI's v1 API, vLLM, Ollama, LM Studio, llama.cpp's server, ...).
 */
export function createOpenAiCompatibleProvider(options: OpenAiCompatibleOptions): LlmProvider {
  const url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  const doFetch = options.fetch ?? globalThis.fetch;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  const { model, timeoutMs } = options;

  async function complete(request: LlmRequest, signal?: AbortSignal): Promise<string> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = () => controller.abort();
    if (signal?.aborted) controller.abort();
    else signal?.addEventListener('abort', onAbort, { once: true });

    /** What a rejected fetch or body read means, now that we know whether we aborted it. */
    const failure = (err: unknown): LlmError => {
      if (err instanceof LlmError) return err;
      if (timedOut)
        return new LlmError(`LLM request to ${url} timed out after ${timeoutMs} ms`, {
          reason: 'timeout',
          cause: err,
        });
      if (controller.signal.aborted)
        return new LlmError(`LLM request to ${url} was aborted`, { reason: 'aborted', cause: err });
      const why = err instanceof Error ? err.message : String(err);
      return new LlmError(`LLM request to ${url} failed: ${why}`, { reason: 'network', cause: err });
    };

    try {
      const res = await doFetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          model,
          messages: [
            { role: 'system', content: request.system },
            { role: 'user', content: request.user },
          ],
          max_tokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
          temperature: 0.2,
        }),
        signal: controller.signal,
      });
      const text = await res.text();
      if (!res.ok) {
        throw new LlmError(
          `LLM endpoint ${url} answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}` +
            (text ? `: ${excerpt(text)}` : ''),
          { reason: 'http', status: res.status },
        );
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (err) {
        throw new LlmError(`LLM endpoint ${url} answered HTTP ${res.status} with a body that is not JSON`, {
          reason: 'malformed',
          status: res.status,
          cause: err,
        });
      }
      const parsed = completionSchema.safeParse(body);
      const content = parsed.success ? parsed.data.choices[0]?.message.content : undefined;
      if (content === undefined) {
        const issue = parsed.success ? undefined : parsed.error.issues[0];
        const where = issue ? ` (${issue.path.map(String).join('.') || 'body'}: ${issue.message})` : '';
        throw new LlmError(
          `LLM endpoint ${url} answered HTTP ${res.status} without choices[0].message.content${where}`,
          { reason: 'malformed', status: res.status },
        );
      }
      return content;
    } catch (err) {
      throw failure(err);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  return { model, complete };
}
