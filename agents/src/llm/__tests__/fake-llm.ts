import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the fake endpoint received. */
export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body (undefined when it was not JSON). */
  body: unknown;
}

/** Answers one request; the default checks it like the real API would and completes with `reply`. */
export type Responder = (request: SeenRequest, res: ServerResponse) => void;

interface ChatBody {
  model?: unknown;
  messages?: { role?: unknown; content?: unknown }[];
  max_tokens?: unknown;
  temperature?: unknown;
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

/** A Chat Completions answer with one choice. */
export const completion = (content: string, model = 'fake-model') => ({
  id: 'chatcmpl-test',
  object: 'chat.completion',
  created: 1_700_000_000,
  model,
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
});

/**
 * A local imitation of an OpenAI-compatible `/v1/chat/completions` endpoint on 127.0.0.1 (port 0):
 * no network beyond the loopback. By default it answers like the API: 404 on other paths, 401
 * when `apiKey` is set and the bearer token differs, 400 on a malformed chat request, else
 * `reply(userMessage)`. `answerWith` replaces that for the next requests.
 */
export async function startFakeLlm(
  options: { model?: string; apiKey?: string; reply?: (user: string) => string } = {},
) {
  const model = options.model ?? 'fake-model';
  const reply = options.reply ?? ((user: string) => `- A practical note about: ${user.split('\n')[0]}`);
  const seen: SeenRequest[] = [];

  const standard: Responder = (request, res) => {
    if (request.method !== 'POST' || request.path !== '/v1/chat/completions')
      return json(res, 404, { error: { message: `no route ${request.method} ${request.path}` } });
    if (options.apiKey !== undefined && request.headers.authorization !== `Bearer ${options.apiKey}`)
      return json(res, 401, {
        error: { message: 'Incorrect API key provided', type: 'invalid_request_error' },
      });
    const body = request.body as ChatBody | undefined;
    const [system, user] = body?.messages ?? [];
    const wellFormed =
      body?.model === model &&
      body.messages?.length === 2 &&
      system?.role === 'system' &&
      typeof system.content === 'string' &&
      user?.role === 'user' &&
      typeof user.content === 'string' &&
      typeof body.max_tokens === 'number' &&
      body.temperature === 0.2;
    if (!wellFormed || typeof user?.content !== 'string')
      return json(res, 400, { error: { message: 'malformed chat completion request' } });
    return json(res, 200, completion(reply(user.content), model));
  };
  let respond: Responder = standard;

  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      const request = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      seen.push(request);
      respond(request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    model,
    /** The API root, as LLM_BASE_URL would name it. */
    baseUrl: `http://127.0.0.1:${port}/v1`,
    seen,
    /** Replaces how the next requests are answered. */
    answerWith(responder: Responder) {
      respond = responder;
    },
    /** Back to answering like the API. */
    answerNormally() {
      respond = standard;
    },
    /** Stops the server, dropping requests it left unanswered. */
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

export type FakeLlm = Awaited<ReturnType<typeof startFakeLlm>>;
