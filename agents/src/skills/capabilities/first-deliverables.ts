import type { BusinessContext } from '../common';
import { describeBusiness, readBusinessContext } from '../common';
import type { SkillRequest, SkillResult } from '../types';
import { addDays, isoDate } from './kit/numbers';
import type { Block } from './kit/render';
import { bullets, numbered, renderMarkdown, table } from './kit/render';
import { titleCase } from './kit/text';
import { keywordIdeas } from './seo';
import { buildOutline, emailSequence } from './marketing';
import { practiceSet } from './math';

type FirstDeliverable = (b: BusinessContext, now: Date) => { title: string; blocks: Block[] };

const profile = (b: BusinessContext): Block => ({
  heading: 'Starting point',
  lines: bullets([
    describeBusiness(b),
    ...(b.audience ? [`Audience: ${b.audience}`] : []),
    ...b.goals.map((g) => `Goal: ${g}`),
    ...b.challenges.map((c) => `Challenge: ${c}`),
  ]),
});

const seed = (b: BusinessContext): string => [b.industry ?? 'services', b.city].filter(Boolean).join(' ');

/** Each customer agent's first trial deliverable, specific to its specialization, by handle. */
const BY_HANDLE: Record<string, FirstDeliverable> = {
  'wow-rank-commerce': (b) => ({
    title: 'SEO quick-win audit plan',
    blocks: [
      profile(b),
      {
        heading: 'Keywords to own first',
        lines: table(
          ['Keyword', 'Intent'],
          keywordIdeas(seed(b), undefined)
            .slice(0, 6)
            .map((k) => [k.keyword, k.intent]),
        ),
      },
      {
        heading: 'Audit checklist (week 1)',
        lines: numbered([
          'Indexing of top category pages',
          'Titles under 60 and metas under 155 characters',
          'Product structured data',
          'Mobile speed of the 10 top-selling pages',
        ]),
      },
    ],
  }),
  'wow-care-content': (b) => {
    const o = buildOutline(
      `${b.industry ?? 'health'} care for ${b.audience ?? 'patients'}${b.city ? ` in ${b.city}` : ''}`,
      [],
      1000,
    );
    return {
      title: 'Content plan and first article outline',
      blocks: [
        profile(b),
        {
          heading: 'First article outline',
          lines: [`H1: ${o.h1}`, ...o.sections.map((s) => `- H2: ${s.h2} (~${s.words} words)`)],
        },
      ],
    };
  },
  'wow-inbox-mail': (b, now) => ({
    title: 'Welcome email sequence',
    blocks: [
      profile(b),
      ...emailSequence(b.goals[0] ?? 'getting started', b, 3, now).map((e, i) => ({
        heading: `Email ${i + 1}: day ${e.day} (${e.sendOn})`,
        lines: [`**Subject:** ${e.subject}`, '', e.body],
      })),
    ],
  }),
  'wow-math-mentor': (b) => ({
    title: 'Personalised maths learning plan',
    blocks: [
      profile(b),
      {
        heading: 'Diagnostic questions',
        lines: numbered(
          practiceSet(`linear equations ${b.businessName}`, 5).items.map((i) => `${i.q} (answer: ${i.a})`),
        ),
      },
      {
        heading: 'Weekly plan',
        lines: bullets([
          'Mon-Fri: 45 minutes of topic practice, errors logged',
          'Sat: timed mixed test',
          'Sun: redo every error',
        ]),
      },
    ],
  }),
  'wow-help-homework': (b) => ({
    title: 'Homework support plan',
    blocks: [
      profile(b),
      {
        heading: 'Warm-up with answers',
        lines: numbered(
          practiceSet(`fractions ${b.businessName}`, 5).items.map((i) => `${i.q} (answer: ${i.a})`),
        ),
      },
    ],
  }),
};

function generic(manifestName: string, specialization: string): FirstDeliverable {
  return (b, now) => ({
    title: `${specialization}: first plan`,
    blocks: [
      profile(b),
      {
        heading: 'Two-week plan',
        lines: table(
          ['Date', 'Step'],
          [
            [isoDate(now), `Kick-off: confirm goals with ${b.businessName}`],
            [addDays(now, 3), `First ${specialization.toLowerCase()} work item delivered`],
            [addDays(now, 7), 'Review against the goals'],
            [addDays(now, 14), 'Results and next month'],
          ],
        ),
      },
      {
        heading: 'Measures',
        lines: bullets(
          (b.goals.length ? b.goals : ['Agreed outcome']).map(
            (g) => `${titleCase(g)}: baseline now, checked weekly by ${manifestName}`,
          ),
        ),
      },
    ],
  });
}

/** The trial's first deliverable for the agent: the handle's own plan, else one built on its specialization. */
export function firstDeliverable(request: SkillRequest): SkillResult {
  const b = readBusinessContext(request.input);
  const { manifest, context } = request;
  const build = BY_HANDLE[manifest.handle] ?? generic(manifest.name, manifest.specialization);
  const { title, blocks } = build(b, context.now);
  const intro = `Prepared by ${manifest.name} (${manifest.specialization}) for ${describeBusiness(b)} on ${isoDate(context.now)}.`;
  return {
    format: 'text/markdown',
    title,
    content: renderMarkdown(title, intro, blocks),
    summary: `${title} for ${b.businessName}`,
  };
}
