import { parseConfig } from '@waooaw/shared';
import { environmentSchema, llmProviderFromConfig } from '../runtime/environment';
import type { FakeLlm } from './__tests__/fake-llm';
import { completion, startFakeLlm } from './__tests__/fake-llm';
import { createOpenAiCompatibleProvider, LlmError } from './provider';

const request = { system: 'You are a test.', user: 'Say something useful.' };

/** The rejection of `work`, which must be an LlmError. */
async function llmError(work: Promise<unknown>): Promise<LlmError> {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LlmError);
  return err as LlmError;
}

describe('the OpenAI-compatible LLM provider', () => {
  let fake: FakeLlm;
  let keyed: FakeLlm;

  beforeAll(async () => {
    fake = await startFakeLlm({ model: 'test-model' });
    keyed = await startFakeLlm({ model: 'test-model', apiKey: 'sk-test-123' });
  });
  afterAll(() => Promise.all([fake.close(), keyed.close()]));
  beforeEach(() => {
    fake.answerNormally();
    fake.seen.length = 0;
    keyed.seen.length = 0;
  });

  it('posts a Chat Completions request and returns the first choice', async () => {
    const provider = createOpenAiCompatibleProvider({
      baseUrl: fake.baseUrl,
      model: 'test-model',
      timeoutMs: 2000,
    });
    expect(provider.model).toBe('test-model');
    await expect(provider.complete({ ...request, maxTokens: 42 })).resolves.toBe(
      '- A practical note about: Say something useful.',
    );
    expect(fake.seen).toHaveLength(1);
    expect(fake.seen[0]).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json' },
      body: {
        model: 'test-model',
        messages: [
          { role: 'system', content: 'You are a test.' },
          { role: 'user', content: 'Say something useful.' },
        ],
        max_tokens: 42,
        temperature: 0.2,
      },
    });
  });

  it('tolerates a trailing slash on the base URL and defaults max_tokens', async () => {
    const provider = createOpenAiCompatibleProvider({
      baseUrl: `${fake.baseUrl}/`,
      model: 'test-model',
      timeoutMs: 2000,
    });
    await provider.complete(request);
    expect(fake.seen[0]?.path).toBe('/v1/chat/completions');
    expect(fake.seen[0]?.body).toMatchObject({ max_tokens: 512 });
  });

  it('sends the bearer token only when a key is set', async () => {
    const withKey = createOpenAiCompatibleProvider({
      baseUrl: keyed.baseUrl,
      apiKey: 'sk-test-123',
      model: 'test-model',
      timeoutMs: 2000,
    });
    await expect(withKey.complete(request)).resolves.toContain('practical note');
    expect(keyed.seen[0]?.headers.authorization).toBe('Bearer sk-test-123');

    const keyless = createOpenAiCompatibleProvider({
      baseUrl: fake.baseUrl,
      model: 'test-model',
      timeoutMs: 2000,
    });
    await keyless.complete(request);
    expect(fake.seen[0]?.headers).not.toHaveProperty('authorization');
  });

  it('turns a non-2xx answer into an LlmError with the status and the reason', async () => {
    const wrongKey = createOpenAiCompatibleProvider({
      baseUrl: keyed.baseUrl,
      apiKey: 'sk-wrong',
      model: 'test-model',
      timeoutMs: 2000,
    });
    const unauthorized = await llmError(wrongKey.complete(request));
    expect(unauthorized).toMatchObject({ name: 'LlmError', reason: 'http', status: 401 });
    expect(unauthorized.message).toMatch(/HTTP 401/);
    expect(unauthorized.message).toContain('Incorrect API key provided');

    fake.answerWith((_req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('overloaded');
    });
    const provider = createOpenAiCompatibleProvider({
      baseUrl: fake.baseUrl,
      model: 'test-model',
      timeoutMs: 2000,
    });
    const unavailable = await llmError(provider.complete(request));
    expect(unavailable).toMatchObject({ reason: 'http', status: 503 });
    expect(unavailable.message).toMatch(/HTTP 503.*overloaded/);
  });

  it('turns a malformed body into an LlmError', async () => {
    const provider = createOpenAiCompatibleProvider({
      baseUrl: fake.baseUrl,
      model: 'test-model',
      timeoutMs: 2000,
    });

    fake.answerWith((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"choices": [');
    });
    const notJson = await llmError(provider.complete(request));
    expect(notJson).toMatchObject({ reason: 'malformed', status: 200 });
    expect(notJson.message).toMatch(/not JSON/);

    for (const body of [{ choices: [] }, { choices: [{ message: { content: null } }] }, { error: 'nope' }]) {
      fake.answerWith((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
      const err = await llmError(provider.complete(request));
      expect(err).toMatchObject({ reason: 'malformed', status: 200 });
      expect(err.message).toContain('choices[0].message.content');
    }

    // The well-formed answer of the same shape passes, extra fields and all.
    fake.answerWith((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(completion('fine')));
    });
    await expect(provider.complete(request)).resolves.toBe('fine');
  });

  it('gives up after the timeout when the endpoint never answers', async () => {
    fake.answerWith(() => undefined);
    const provider = createOpenAiCompatibleProvider({
      baseUrl: fake.baseUrl,
      model: 'test-model',
      timeoutMs: 150,
    });
    const started = Date.now();
    const err = await llmError(provider.complete(request));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err).toMatchObject({ reason: 'timeout', status: undefined });
    expect(err.message).toMatch(/timed out after 150 ms/);
  });

  it('stops when the caller aborts', async () => {
    const caller = new AbortController();
    // The caller gives up once its request has reached the endpoint, which never answers.
    fake.answerWith(() => caller.abort());
    const provider = createOpenAiCompatibleProvider({
      baseUrl: fake.baseUrl,
      model: 'test-model',
      timeoutMs: 5000,
    });
    const pending = provider.complete(request, caller.signal);
    await expect(llmError(pending)).resolves.toMatchObject({ reason: 'aborted' });
  });

  it('reports an unreachable endpoint as a network error', async () => {
    // A loopback port that just stopped listening: connection refused, no network involved.
    const gone = await startFakeLlm();
    await gone.close();
    const provider = createOpenAiCompatibleProvider({
      baseUrl: gone.baseUrl,
      model: 'test-model',
      timeoutMs: 2000,
    });
    await expect(llmError(provider.complete(request))).resolves.toMatchObject({ reason: 'network' });
  });
});

describe('llmProviderFromConfig', () => {
  it('is off (undefined) when LLM_BASE_URL is unset or empty', () => {
    const config = parseConfig(environmentSchema, {});
    expect(config).toMatchObject({ LLM_MODEL: 'gpt-4o-mini', LLM_TIMEOUT_MS: 8000 });
    expect(config.LLM_BASE_URL).toBeUndefined();
    expect(llmProviderFromConfig(config)).toBeUndefined();
    expect(llmProviderFromConfig(parseConfig(environmentSchema, { LLM_BASE_URL: '' }))).toBeUndefined();
  });

  it('builds a provider of the configured model that talks to LLM_BASE_URL', async () => {
    const fake = await startFakeLlm({ model: 'local-llama', apiKey: 'k' });
    try {
      const config = parseConfig(environmentSchema, {
        LLM_BASE_URL: fake.baseUrl,
        LLM_API_KEY: 'k',
        LLM_MODEL: 'local-llama',
        LLM_TIMEOUT_MS: '1500',
      });
      const provider = llmProviderFromConfig(config);
      expect(provider?.model).toBe('local-llama');
      await expect(provider?.complete(request)).resolves.toContain('practical note');
      expect(fake.seen[0]?.headers.authorization).toBe('Bearer k');
    } finally {
      await fake.close();
    }
  });

  it('refuses a base URL that is not a URL and a timeout under 100 ms', () => {
    expect(() => parseConfig(environmentSchema, { LLM_BASE_URL: 'not a url' })).toThrow(/LLM_BASE_URL/);
    expect(() => parseConfig(environmentSchema, { LLM_TIMEOUT_MS: '50' })).toThrow(/LLM_TIMEOUT_MS/);
  });
});
