import { testLogger } from '@waooaw/shared/testing';
import type { SkillResult } from '../skills/types';
import type { FakeLlm } from './__tests__/fake-llm';
import { startFakeLlm } from './__tests__/fake-llm';
import { DELIVERABLE_PROMPT_CHARS, enrichmentPrompt, enrichOutput, INPUT_PROMPT_CHARS } from './enrich';
import type { LlmProvider } from './provider';
import { createOpenAiCompatibleProvider, LlmError } from './provider';

const markdown: SkillResult = {
  format: 'text/markdown',
  title: 'Weekly social calendar',
  content: '# Weekly social calendar\n\n| Day | Post |\n| --- | --- |\n| Mon | 3 reels |',
  summary: '7 posts planned for the week',
};

const json: SkillResult = {
  format: 'application/json',
  title: 'Lead scores',
  content: JSON.stringify({ leads: [{ id: 'a', score: 0.82 }] }),
  summary: '1 lead scored',
};

const subject = (output: SkillResult) => ({
  capability: 'marketing.social-calendar',
  agentName: 'WowSocial',
  input: { business: 'Bakery', posts: 7 },
  output,
});

/** A logger whose warnings the test can read. */
function watchedLogger() {
  const logger = testLogger();
  const warn = jest.spyOn(logger, 'warn');
  return { logger, warn };
}

describe('enriching a deliverable with an LLM', () => {
  let fake: FakeLlm;
  let provider: LlmProvider;

  beforeAll(async () => {
    fake = await startFakeLlm({ model: 'notes-model', reply: () => '  - Post the reels before 9 am.\n' });
    provider = createOpenAiCompatibleProvider({
      baseUrl: fake.baseUrl,
      model: 'notes-model',
      timeoutMs: 2000,
    });
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.answerNormally();
    fake.seen.length = 0;
  });

  it('appends the notes to a Markdown deliverable, keeping its title and summary', async () => {
    const { logger, warn } = watchedLogger();
    const enriched = await enrichOutput(provider, subject(markdown), logger);
    expect(enriched).toEqual({
      ...markdown,
      content: `${markdown.content}\n\n## Further notes (notes-model)\n\n- Post the reels before 9 am.`,
    });
    expect(warn).not.toHaveBeenCalled();

    // What the model was asked: as the agent, not to contradict the figures, with input and deliverable.
    const body = fake.seen[0]?.body as { messages: { role: string; content: string }[] };
    const [system, user] = body.messages;
    expect(system?.content).toMatch(/^You are WowSocial, adding concise, practical notes to a deliverable/);
    expect(system?.content).toMatch(/Do not contradict/);
    expect(user?.content).toContain('Capability: marketing.social-calendar');
    expect(user?.content).toContain('"business": "Bakery"');
    expect(user?.content).toContain('| Mon | 3 reels |');
  });

  it('leaves a JSON deliverable unchanged without asking the model', async () => {
    const { logger } = watchedLogger();
    await expect(enrichOutput(provider, subject(json), logger)).resolves.toBe(json);
    expect(fake.seen).toHaveLength(0);
  });

  it('keeps the deterministic deliverable, and warns, when the model fails', async () => {
    fake.answerWith((_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"boom"}}');
    });
    const { logger, warn } = watchedLogger();
    await expect(enrichOutput(provider, subject(markdown), logger)).resolves.toBe(markdown);
    expect(warn).toHaveBeenCalledTimes(1);
    const [fields, message] = warn.mock.calls[0] as unknown as [{ err: unknown; model: string }, string];
    expect(fields.err).toBeInstanceOf(LlmError);
    expect(fields.err).toMatchObject({ status: 500 });
    expect(fields.model).toBe('notes-model');
    expect(message).toMatch(/enrichment failed/);
  });

  it('keeps the deliverable when the model times out', async () => {
    fake.answerWith(() => undefined);
    const slow = createOpenAiCompatibleProvider({
      baseUrl: fake.baseUrl,
      model: 'notes-model',
      timeoutMs: 100,
    });
    const { logger, warn } = watchedLogger();
    await expect(enrichOutput(slow, subject(markdown), logger)).resolves.toBe(markdown);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('keeps the deliverable when the model has nothing to add', async () => {
    const silent: LlmProvider = { model: 'quiet', complete: () => Promise.resolve(' \n\t ') };
    const { logger, warn } = watchedLogger();
    await expect(enrichOutput(silent, subject(markdown), logger)).resolves.toBe(markdown);
    expect(warn).not.toHaveBeenCalled();
  });

  it('truncates a long input and deliverable in the prompt', () => {
    const long = {
      ...subject({ ...markdown, content: 'x'.repeat(DELIVERABLE_PROMPT_CHARS + 5_000) }),
      input: { notes: 'y'.repeat(INPUT_PROMPT_CHARS + 5_000) },
    };
    const { user } = enrichmentPrompt(long);
    expect(user.length).toBeLessThan(INPUT_PROMPT_CHARS + DELIVERABLE_PROMPT_CHARS + 1_000);
    expect(user).toMatch(/truncated, 5000 more characters/);
    expect(user.match(/truncated/g)).toHaveLength(2);
  });
});
