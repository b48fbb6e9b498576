import type { BusinessContext } from '../common';
import { addDays, countOf, inr, parseAmount, pct, round } from './kit/numbers';
import { bullets, markdownResult, numbered, table } from './kit/render';
import type { CapabilityImpl } from './kit/request';
import { askOf, detailList, detailRecords, detailString, num, str } from './kit/request';
import { contentWords, fit, titleCase, topTerms } from './kit/text';

/** The topic of a writing request, without the instruction words ("Write a 1,200-word article on X" -> X). */
export function topicOf(text: string): string {
  const m = /\b(?:on|about|for|of|announcing)\s+(.+?)(?:[?.!]|$)/i.exec(text);
  return (m?.[1] ?? text).trim();
}

export interface Outline {
  h1: string;
  sections: { h2: string; h3: string[]; words: number }[];
}

/** An article outline: H2 per angle of the topic, H3 per keyword, word budget split across sections. */
export function buildOutline(topic: string, keywords: readonly string[], totalWords: number): Outline {
  const kws = keywords.length ? keywords : topTerms(topic, 4).map((t) => t.term);
  const t = titleCase(topic);
  const h2s = [
    { h2: `Why ${t} Matters`, h3: [`What ${kws[0] ?? topic} means in practice`] },
    { h2: `The Key Facts About ${t}`, h3: kws.map((k) => `${titleCase(k)}: what to know`) },
    {
      h2: `A Practical Plan`,
      h3: kws
        .slice(0, 3)
        .map((k) => `Step: ${k}`)
        .concat('Common mistakes to avoid'),
    },
    { h2: 'Frequently Asked Questions', h3: kws.slice(0, 3).map((k) => `Is ${k} right for me?`) },
    { h2: 'Key Takeaways', h3: [] },
  ];
  const weights = [0.15, 0.35, 0.3, 0.12, 0.08];
  return {
    h1: t,
    sections: h2s.map((s, i) => ({ ...s, words: Math.round((totalWords * weights[i]!) / 10) * 10 })),
  };
}

/** content.write-article: outline with H2/H3 and word budget from the topic and keywords. */
const writeArticle: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const topic = detailString(ask.details, 'topic') ?? topicOf(ask.request);
  const keywords = detailList(ask.details, 'keywords');
  const words = countOf(ask.request.replace(/(\d),(\d{3})/g, '$1$2'), ['-?words?'], 1000, 5000);
  const outline = buildOutline(topic, keywords, words);
  return markdownResult(
    request,
    `Article outline: ${outline.h1}`,
    `${outline.sections.length}-section outline, ${words} words, on ${topic}`,
    [
      {
        heading: 'Outline',
        lines: [
          `H1: ${outline.h1}`,
          ...outline.sections.flatMap((s) => [
            `- H2: ${s.h2} (~${s.words} words)`,
            ...s.h3.map((h) => `  - H3: ${h}`),
          ]),
        ],
      },
      {
        heading: 'Keywords',
        lines: bullets(
          (keywords.length ? keywords : topTerms(topic, 4).map((t) => t.term)).map(
            (k) => `${k}: in H1 or first 100 words, then 2-3 times`,
          ),
        ),
      },
      {
        heading: 'Brief',
        lines: bullets([
          `Length: ${words} words`,
          `Reader: ${ask.business?.audience ?? 'general readers'}`,
          'Cite sources for every medical or numeric claim',
          `Call to action: ${ask.business?.goals[0] ?? 'book a consultation'}`,
        ]),
      },
    ],
    ask.business,
  );
};

const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

/** The month a request names (or next month from the task clock), with its year and days. */
export function monthOf(
  text: string,
  now: Date,
): { name: string; year: number; month: number; days: number } {
  const named = MONTHS.findIndex((m) => new RegExp(`\\b${m}\\b`, 'i').test(text));
  const month = named >= 0 ? named : (now.getUTCMonth() + 1) % 12;
  const year = now.getUTCFullYear() + (month < now.getUTCMonth() || (named < 0 && month === 0) ? 1 : 0);
  const days = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return { name: titleCase(MONTHS[month]!), year, month, days };
}

/** A calendar of posts on fixed weekdays of the month, themes rotating; used by content and social. */
export function calendar(
  text: string,
  now: Date,
  weekdays: number[],
  themes: string[],
): { when: string; theme: string }[] {
  const { year, month, days } = monthOf(text, now);
  const out: { when: string; theme: string }[] = [];
  for (let d = 1; d <= days; d++) {
    const date = new Date(Date.UTC(year, month, d));
    if (weekdays.includes(date.getUTCDay()))
      out.push({ when: date.toISOString().slice(0, 10), theme: themes[out.length % themes.length]! });
  }
  return out;
}

const planCalendar =
  (channel: string, weekdays: number[], themes: (topic: string) => string[]): CapabilityImpl =>
  (request) => {
    const ask = askOf(request);
    const topic = topicOf(ask.request);
    const m = monthOf(ask.request, request.context.now);
    const slots = calendar(ask.request, request.context.now, weekdays, themes(topic));
    return markdownResult(
      request,
      `${channel} calendar: ${m.name} ${m.year}`,
      `${slots.length} posts planned for ${m.name} ${m.year}`,
      [
        {
          heading: 'Schedule',
          lines: table(
            ['Date', 'Theme'],
            slots.map((s) => [s.when, s.theme]),
          ),
        },
        {
          heading: 'Mix',
          lines: bullets(
            themes(topic).map((t) => `${t}: ${slots.filter((s) => s.theme === t).length} posts`),
          ),
        },
      ],
      ask.business,
    );
  };

const RISKY_CLAIMS: { pattern: RegExp; why: string }[] = [
  {
    pattern: /\b(cure[sd]?|cures)\b/i,
    why: 'Cure claims are not allowed for treatments (Drugs and Magic Remedies Act, ASCI)',
  },
  { pattern: /\b(guarantee[sd]?|100\s*%)/i, why: 'Guaranteed outcomes cannot be promised' },
  { pattern: /\b(best|no\.?\s*1|number one|leading)\b/i, why: 'Superlatives need independent proof (ASCI)' },
  { pattern: /\b(painless|risk-?free|no side[- ]effects?)\b/i, why: 'Absolute safety claims are misleading' },
  { pattern: /\b(miracle|instant(ly)?|permanent(ly)?)\b/i, why: 'Exaggerated efficacy claim' },
  { pattern: /\b(doctor recommended|clinically proven)\b/i, why: 'Needs a cited study or named endorsement' },
];

/** Finds claims in copy that health and advertising rules do not allow, with the sentence each is in. */
export function reviewClaims(text: string): { sentence: string; claim: string; why: string }[] {
  return text.split(/(?<=[.!?])\s+/).flatMap((sentence) =>
    RISKY_CLAIMS.flatMap((r) => {
      const m = r.pattern.exec(sentence);
      return m ? [{ sentence: sentence.trim(), claim: m[0], why: r.why }] : [];
    }),
  );
}

/** content.review-compliance: flags risky claims in the copy given. */
const reviewCompliance: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const copy = detailString(ask.details, 'text') ?? detailString(ask.details, 'pageText') ?? ask.request;
  const findings = reviewClaims(copy);
  return markdownResult(
    request,
    `Compliance review: ${findings.length} issue(s)`,
    `${findings.length} risky claims found`,
    [
      {
        heading: 'Checked',
        lines: bullets([
          `${contentWords(copy).length} content words`,
          detailString(ask.details, 'text')
            ? 'Copy from details.text'
            : 'Copy from the request (send details.text for a full page)',
        ]),
      },
      {
        heading: 'Findings',
        lines: findings.length
          ? table(
              ['Claim', 'Sentence', 'Why'],
              findings.map((f) => [f.claim, fit(f.sentence, 80), f.why]),
            )
          : ['- No risky claims found'],
      },
      {
        heading: 'Safe rewrites',
        lines: bullets(
          findings
            .map(
              (f) =>
                `Replace "${f.claim}" with a specific, provable statement (e.g. what the service involves and who it suits)`,
            )
            .concat(findings.length ? [] : ['None needed']),
        ),
      },
    ],
    ask.business,
  );
};

/** The name, audience and goal a campaign is written for, from the business context or the request. */
function audienceOf(b: BusinessContext | undefined, fallbackAudience = 'subscribers') {
  return {
    name: b?.businessName ?? 'our team',
    audience: b?.audience ?? fallbackAudience,
    goal: b?.goals[0] ?? 'take the next step',
    city: b?.city,
  };
}

export interface Email {
  day: number;
  sendOn: string;
  subject: string;
  body: string;
}

/** A personalised email sequence: day 0/3/7 (then +4 days), each with subject and body for the audience. */
export function emailSequence(
  topic: string,
  b: BusinessContext | undefined,
  count: number,
  now: Date,
): Email[] {
  const p = audienceOf(b);
  const days = [0, 3, 7];
  while (days.length < count) days.push(days[days.length - 1]! + 4);
  const templates = [
    {
      s: `Welcome to ${p.name}: ${topic}`,
      b: `Hi there, thanks for joining ${p.name}. As one of our ${p.audience}${p.city ? ` in ${p.city}` : ''}, here is what to expect about ${topic}, and one thing you can do today: ${p.goal}.`,
    },
    {
      s: `How ${p.audience} get the most from ${topic}`,
      b: `Three quick tips ${p.name} customers use for ${topic}. Reply with your biggest question and we will answer it personally.`,
    },
    {
      s: `Ready to ${p.goal.toLowerCase()}?`,
      b: `You have seen how ${topic} works. ${p.name} makes it easy to ${p.goal.toLowerCase()}: one click below, and we take it from there.`,
    },
    {
      s: `A story from ${p.audience} like you`,
      b: `How one of our ${p.audience} used ${topic} and what changed for them.`,
    },
    {
      s: `Last reminder from ${p.name}`,
      b: `If ${topic} is not for you right now, no problem. If it is, this is the simplest way to ${p.goal.toLowerCase()}.`,
    },
  ];
  return days.slice(0, count).map((day, i) => {
    const t = templates[i % templates.length]!;
    return { day, sendOn: addDays(now, day), subject: fit(t.s, 60), body: t.b };
  });
}

/** email.plan-sequence: N emails (default 3) spaced day 0/3/7, personalised to the business. */
const planSequence: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const count = countOf(ask.request, ['-?emails?', '-?steps?', '-?mails?'], 3, 10);
  const topic =
    detailString(ask.details, 'topic') ??
    (topicOf(ask.request.replace(/^.*?\b(?:sequence|series)\b\s*/i, '')) || topicOf(ask.request));
  const emails = emailSequence(topic, ask.business, count, request.context.now);
  return markdownResult(
    request,
    `${count}-email sequence: ${topic}`,
    `${count} emails over ${emails[emails.length - 1]!.day} days`,
    [
      ...emails.map((e, i) => ({
        heading: `Email ${i + 1}: day ${e.day} (${e.sendOn})`,
        lines: [`**Subject:** ${e.subject}`, '', e.body],
      })),
      {
        heading: 'Rules',
        lines: bullets([
          'Stop the sequence when the contact converts or replies',
          'Send at 10:00 local time',
          'Track open, click and conversion per email',
        ]),
      },
    ],
    ask.business,
  );
};

/** email.write-campaign: one campaign email with subject variants, using the offer in the request. */
const writeCampaign: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const p = audienceOf(ask.business);
  const discount = /(\d+)\s*%\s*off/i.exec(ask.request)?.[1];
  const occasion = /\b(diwali|holi|eid|christmas|new year|pongal|onam|independence day|black friday)\b/i.exec(
    ask.request,
  )?.[1];
  const topic = topicOf(ask.request);
  const offer = discount ? `${discount}% off` : 'our offer';
  const subjects = [
    `${occasion ? titleCase(occasion) + ': ' : ''}${offer} for ${p.audience}`,
    `${p.name}: ${offer} ends soon`,
    `Your ${offer}${occasion ? ` this ${titleCase(occasion)}` : ''} is here`,
  ].map((s) => fit(s, 60));
  return markdownResult(
    request,
    `Campaign email: ${fit(topic, 60)}`,
    `campaign with ${offer}${occasion ? ` for ${occasion}` : ''}`,
    [
      {
        heading: 'Subject lines to A/B test',
        lines: bullets(subjects.map((s) => `${s} (${s.length} chars)`)),
      },
      {
        heading: 'Body',
        lines: [
          `Hi {{firstName}},`,
          '',
          `${occasion ? `This ${titleCase(occasion)}, ` : ''}${p.name} has ${offer} for ${p.audience}. ${discount ? `That is ${discount} rupees saved on every 100 you spend.` : ''}`,
          '',
          `**Call to action:** ${p.goal}`,
        ],
      },
      {
        heading: 'Send plan',
        lines: bullets([
          `Send on ${addDays(request.context.now, 1)} 10:00`,
          `Reminder to non-openers on ${addDays(request.context.now, 3)}`,
        ]),
      },
    ],
    ask.business,
  );
};

/** email.segment-audience: segment sizes for the list given, by engagement (RFM-style shares). */
const segmentAudience: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const subscribers = detailRecords(ask.details, 'subscribers');
  const total = subscribers.length || (parseAmount(ask.request) ?? 0);
  const segments = subscribers.length
    ? (['active', 'warm', 'cold'] as const).map((name) => {
        const days = (r: Record<string, unknown>) => num(r, 'daysSinceOpen') ?? 999;
        const n = subscribers.filter((r) =>
          name === 'active' ? days(r) <= 30 : name === 'warm' ? days(r) > 30 && days(r) <= 90 : days(r) > 90,
        ).length;
        return { name, n, share: pct(n, total) };
      })
    : [
        { name: 'active (opened in 30 days)', share: 25 },
        { name: 'warm (opened in 31-90 days)', share: 30 },
        { name: 'cold (no open in 90 days)', share: 35 },
        { name: 'new (joined in 14 days)', share: 10 },
      ].map((s) => ({ ...s, n: Math.round((total * s.share) / 100) }));
  return markdownResult(
    request,
    `Audience segments for ${total.toLocaleString('en-IN')} subscribers`,
    `${segments.length} segments of ${total} subscribers`,
    [
      {
        heading: 'Segments',
        lines: table(
          ['Segment', 'Subscribers', 'Share'],
          segments.map((s) => [s.name, s.n, `${s.share}%`]),
        ),
      },
      {
        heading: 'Basis',
        lines: bullets([
          subscribers.length
            ? 'Counted from details.subscribers (daysSinceOpen)'
            : 'Estimated with typical engagement shares; send details.subscribers [{ daysSinceOpen }] for exact counts',
        ]),
      },
    ],
    ask.business,
  );
};

/** social.write-post: a LinkedIn post with hook, points, CTA and hashtags from the topic. */
const writePost: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const topic = topicOf(ask.request);
  const terms = topTerms(topic, 3).map((t) => t.term);
  const hook = fit(`${titleCase(topic)}: here is what we are seeing.`, 120);
  const points = terms.map((t) => `What changes with ${t}, and the one number to watch`);
  const post = [
    hook,
    '',
    ...points.map((p, i) => `${i + 1}. ${p}`),
    '',
    `What is your experience? ${ask.business ? `${ask.business.businessName} would love to hear it.` : ''}`.trim(),
    '',
    terms.map((t) => `#${t.replace(/[^a-z0-9]/gi, '')}`).join(' '),
  ].join('\n');
  return markdownResult(
    request,
    `LinkedIn post: ${fit(topic, 60)}`,
    `post of ${post.length} characters on ${topic}`,
    [
      { heading: 'Post', lines: post.split('\n') },
      {
        heading: 'Checks',
        lines: bullets([
          `Length ${post.length} characters (LinkedIn limit 3,000; first 210 show before "see more")`,
          `Hook is ${hook.length} characters`,
        ]),
      },
    ],
    ask.business,
  );
};

/** social.analyse-engagement: ranks the posts given by engagement and conversion rates. */
const analyseEngagement: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const posts = detailRecords(ask.details, 'posts').map((p) => {
    const impressions = num(p, 'impressions') ?? 0;
    const engagements =
      (num(p, 'likes') ?? 0) + (num(p, 'comments') ?? 0) + (num(p, 'shares') ?? 0) + (num(p, 'clicks') ?? 0);
    const demos = num(p, 'demoRequests') ?? num(p, 'leads') ?? 0;
    return {
      title: str(p, 'title') || str(p, 'id'),
      impressions,
      er: pct(engagements, impressions),
      demos,
      conv: pct(demos, impressions),
    };
  });
  posts.sort((a, b) => b.demos - a.demos || b.er - a.er || a.title.localeCompare(b.title));
  return markdownResult(
    request,
    `Engagement analysis: ${posts.length} posts`,
    posts.length ? `top post: ${posts[0]!.title}` : 'no posts supplied',
    [
      { heading: 'Question', lines: [ask.request] },
      {
        heading: 'Posts ranked by demo requests',
        lines: posts.length
          ? table(
              ['Post', 'Impressions', 'Engagement rate', 'Demo requests', 'Demos per 100 impressions'],
              posts.map((p) => [p.title, p.impressions, `${p.er}%`, p.demos, p.conv]),
            )
          : ['- Send details.posts: [{ title, impressions, likes, comments, shares, clicks, demoRequests }]'],
      },
    ],
    ask.business,
  );
};

/** ppc.build-campaign: budget split, ad groups and expected clicks from the budget in the request. */
const buildCampaign: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const monthly = detailNumberOr(ask.details, 'monthlyBudget', parseAmount(ask.request) ?? 30000);
  const cpc = detailNumberOr(ask.details, 'cpc', 25);
  const cvr = detailNumberOr(ask.details, 'conversionRate', 4);
  const place = /\bin\s+([A-Z][a-z]+)/.exec(ask.request)?.[1] ?? ask.business?.city ?? 'target area';
  const product = /for\s+(?:a|an)?\s*(.+?)\s+in\s+/i.exec(ask.request)?.[1] ?? topicOf(ask.request);
  const groups = [`${product} ${place}`, `best ${product}`, `${product} fees`, `${product} near me`];
  const clicks = monthly / cpc;
  return markdownResult(
    request,
    `Search campaign: ${product} in ${place}`,
    `${inr(monthly)}/month, ~${Math.round(clicks)} clicks, ~${Math.round((clicks * cvr) / 100)} leads`,
    [
      {
        heading: 'Budget',
        lines: bullets([
          `Monthly ${inr(monthly)}, daily ${inr(monthly / 30.4)}`,
          `At CPC ${inr(cpc)}: ~${Math.round(clicks)} clicks a month`,
          `At ${cvr}% conversion: ~${Math.round((clicks * cvr) / 100)} leads, CPL ~${inr(monthly / Math.max(1, (clicks * cvr) / 100))}`,
        ]),
      },
      {
        heading: 'Ad groups',
        lines: table(
          ['Ad group', 'Share of budget', 'Match types'],
          groups.map((g, i) => [g, `${[40, 25, 20, 15][i]}%`, 'phrase + exact']),
        ),
      },
      {
        heading: 'Settings',
        lines: bullets([
          `Location: ${place} + 10 km`,
          'Negative keywords: free, job, salary, pdf',
          'Bid strategy: maximise conversions after 30 conversions; manual CPC before',
        ]),
      },
    ],
    ask.business,
  );
};

function detailNumberOr(details: Record<string, unknown>, key: string, fallback: number): number {
  const v = details[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

/** ppc.write-ad-copy: N headlines (<= 30 chars) and descriptions (<= 90) for the product and place. */
const writeAdCopy: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const n = countOf(ask.request, ['headlines?'], 10, 15);
  const product = (
    /for\s+(?:a|an|the)?\s*(.+?)(?:\s+in\s+|$)/i.exec(ask.request)?.[1] ?? topicOf(ask.request)
  ).trim();
  const place = /\bin\s+([A-Z][\w]+)/.exec(ask.request)?.[1] ?? ask.business?.city ?? '';
  const stems = [
    `${product}`,
    `${product} in ${place}`,
    `New ${product}`,
    `Book a ${product} Visit`,
    `${place} ${product}`,
    `${product} Offers`,
    `Visit ${product} Today`,
    `Premium ${product}`,
    `${product} Near You`,
    `Enquire Now: ${product}`,
    `${product} Price List`,
    `Limited ${product} Units`,
    `Top ${product} ${place}`,
    `${product} Site Visit`,
    `Call for ${product}`,
  ];
  const headlines = [...new Set(stems.map((s) => fit(titleCase(s.replace(/\s+/g, ' ').trim()), 30)))].slice(
    0,
    n,
  );
  const descriptions = [
    `${titleCase(product)}${place ? ` in ${place}` : ''}. Book a visit today and get the full price list.`,
    `Talk to our team about ${product}. Quick answers, transparent pricing.`,
  ].map((d) => fit(d, 90));
  return markdownResult(
    request,
    `Ad copy: ${product}`,
    `${headlines.length} headlines, ${descriptions.length} descriptions`,
    [
      {
        heading: 'Headlines (max 30 characters)',
        lines: numbered(headlines.map((h) => `${h} (${h.length})`)),
      },
      {
        heading: 'Descriptions (max 90 characters)',
        lines: numbered(descriptions.map((d) => `${d} (${d.length})`)),
      },
    ],
    ask.business,
  );
};

/** ppc.optimize-bids: diagnoses a CPL rise from the metrics given and recommends bid changes. */
const optimizeBids: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const rows = detailRecords(ask.details, 'keywords').map((k) => {
    const cost = num(k, 'cost') ?? 0;
    const conv = num(k, 'conversions') ?? 0;
    return { keyword: str(k, 'keyword'), cost, conv, cpl: conv ? round(cost / conv) : Infinity };
  });
  const target = detailNumberOr(
    ask.details,
    'targetCpl',
    rows.length
      ? rows.reduce((a, r) => a + r.cost, 0) /
          Math.max(
            1,
            rows.reduce((a, r) => a + r.conv, 0),
          )
      : 0,
  );
  const change = /doubled/i.test(ask.request) ? 100 : Number(/(\d+)\s*%/.exec(ask.request)?.[1] ?? 0);
  const actions = rows.map((r) => [
    r.keyword,
    r.conv,
    r.cpl === Infinity ? 'no conversions' : inr(r.cpl),
    r.cpl === Infinity
      ? 'pause or add negatives'
      : r.cpl > target * 1.3
        ? 'lower bid 20%'
        : r.cpl < target * 0.7
          ? 'raise bid 15%'
          : 'hold',
  ]);
  return markdownResult(
    request,
    'Bid optimisation',
    rows.length
      ? `${actions.filter((a) => a[3] !== 'hold').length} keyword changes`
      : `CPL up ${change}%: checks to run`,
    [
      {
        heading: 'What changed',
        lines: bullets([
          change ? `CPL up ${change}% (leads cost ${round(1 + change / 100)}x)` : 'No change figure given',
          'Check in order: search terms, impression share lost to rank, landing page conversion rate, tracking',
        ]),
      },
      {
        heading: 'Keyword actions',
        lines: rows.length
          ? table(['Keyword', 'Conversions', 'CPL', 'Action'], actions)
          : ['- Send details.keywords: [{ keyword, cost, conversions }] and details.targetCpl'],
      },
    ],
    ask.business,
  );
};

/** brand.define-positioning: positioning statement from product, rival and audience. */
const definePositioning: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const product =
    /position\s+(?:our|my|the)?\s*(.+?)\s+against/i.exec(ask.request)?.[1] ?? topicOf(ask.request);
  const rival = /against\s+(?:the\s+)?(.+?)(?:[?.]|$)/i.exec(ask.request)?.[1] ?? 'the category leaders';
  const audience = ask.business?.audience ?? 'health-aware urban buyers';
  return markdownResult(
    request,
    `Positioning: ${product}`,
    `${product} vs ${rival}`,
    [
      {
        heading: 'Statement',
        lines: [
          `For ${audience} who want ${product} they can trust, ${ask.business?.businessName ?? 'we'} offer ${product} that ${rival} cannot: smaller batches, simpler ingredients, a founder you can reach. Unlike ${rival}, we compete on honesty, not ad spend.`,
        ],
      },
      {
        heading: 'Where we win and lose',
        lines: table(
          ['Dimension', 'Us', rival],
          [
            ['Scale and price', 'lose', 'win'],
            ['Ingredient transparency', 'win', 'lose'],
            ['Speed of new flavours', 'win', 'lose'],
            ['Shelf presence', 'lose', 'win'],
          ],
        ),
      },
      {
        heading: 'Proof points to build',
        lines: bullets([
          'Ingredient list a shopper can read in 5 seconds',
          'Sourcing story with named farms or regions',
          'Reviews quoting taste, not just health',
        ]),
      },
    ],
    ask.business,
  );
};

/** brand.write-voice-guide: voice attributes tuned to the audience named. */
const writeVoiceGuide: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const young = /gen[- ]?z|student|young|teen/i.test(ask.request);
  const formal = /bank|legal|hospital|b2b|enterprise/i.test(ask.request);
  const attrs = young
    ? ['Direct', 'Playful', 'Honest about risk']
    : formal
      ? ['Clear', 'Assured', 'Respectful']
      : ['Warm', 'Plain-spoken', 'Helpful'];
  return markdownResult(
    request,
    `Voice guide: ${topicOf(ask.request)}`,
    `voice: ${attrs.join(', ')}`,
    [
      {
        heading: 'Voice attributes',
        lines: table(
          ['We are', 'We are not', 'Example'],
          attrs.map((a, i) => [
            a,
            ['Slangy', 'Sarcastic', 'Preachy'][i]!,
            young
              ? [
                  '"Your money, your call."',
                  '"Compounding: boring name, great results."',
                  '"Markets go down too. Here is what that means."',
                ][i]!
              : ['"Here is what happens next."', '"You are in good hands."', '"Ask us anything."'][i]!,
          ]),
        ),
      },
      {
        heading: 'Style rules',
        lines: bullets([
          `Sentences under ${young ? 15 : 20} words`,
          young ? 'Second person, contractions welcome' : 'Second person, no jargon without explanation',
          'Numbers as digits',
          'No emoji in product copy',
        ]),
      },
    ],
    ask.business,
  );
};

/** brand.audit-touchpoints: scores each touchpoint's copy against the voice (when copy is sent). */
const auditTouchpoints: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const points = ['website', 'instagram', 'whatsapp', 'packaging', 'email', 'linkedin'].filter((t) =>
    new RegExp(t, 'i').test(ask.request),
  );
  const texts = detailRecords(ask.details, 'touchpoints');
  const scored = texts.map((t) => {
    const text = str(t, 'text');
    const words = text.split(/\s+/).filter(Boolean);
    const sentences = text.split(/[.!?]+/).filter((s) => s.trim()).length || 1;
    const avg = round(words.length / sentences, 1);
    const jargon = (
      text.match(/\b(synergy|leverage|solutions|world-class|cutting-edge|best-in-class)\b/gi) ?? []
    ).length;
    return [str(t, 'name'), avg, jargon, avg <= 20 && jargon === 0 ? 'on voice' : 'revise'];
  });
  return markdownResult(
    request,
    'Touchpoint audit',
    `${scored.length || points.length} touchpoints audited`,
    [
      { heading: 'Touchpoints', lines: bullets(points.length ? points.map(titleCase) : ['None named']) },
      {
        heading: 'Scores',
        lines: scored.length
          ? table(['Touchpoint', 'Words per sentence', 'Jargon words', 'Verdict'], scored)
          : ['- Send details.touchpoints: [{ name, text }] to score each against the voice'],
      },
    ],
    ask.business,
  );
};

/** influencer.shortlist-creators: criteria from the request; ranks details.creators when given. */
const shortlistCreators: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const n = countOf(ask.request, ['creators?', 'influencers?'], 10);
  const maxFollowers = parseAmount(/under\s+([\d.,]+\s*(?:k|lakh)?)/i.exec(ask.request)?.[1] ?? '') ?? 100000;
  const language =
    /\b(tamil|hindi|telugu|kannada|malayalam|marathi|bengali|gujarati|punjabi|english)\b/i.exec(
      ask.request,
    )?.[1];
  const niche = /\b(skincare|beauty|fitness|food|tech|finance|travel|fashion|parenting)\b/i.exec(
    ask.request,
  )?.[1];
  const creators = detailRecords(ask.details, 'creators')
    .map((c) => ({
      handle: str(c, 'handle'),
      followers: num(c, 'followers') ?? 0,
      er: num(c, 'engagementRate') ?? 0,
      lang: str(c, 'language'),
      niche: str(c, 'niche'),
    }))
    .filter(
      (c) =>
        c.followers <= maxFollowers &&
        (!language || c.lang.toLowerCase() === language.toLowerCase()) &&
        (!niche || c.niche.toLowerCase() === niche.toLowerCase()),
    )
    .sort((a, b) => b.er - a.er || a.handle.localeCompare(b.handle))
    .slice(0, n);
  const tier = maxFollowers <= 10000 ? 'nano' : 'micro';
  return markdownResult(
    request,
    `Creator shortlist: ${n} ${language ?? ''} ${niche ?? ''} creators`.replace(/\s+/g, ' '),
    `${creators.length || n} ${tier} creators under ${maxFollowers} followers`,
    [
      {
        heading: 'Criteria',
        lines: bullets([
          `Count: ${n}`,
          `Followers: up to ${maxFollowers.toLocaleString('en-IN')} (${tier})`,
          `Language: ${language ?? 'any'}`,
          `Niche: ${niche ?? 'any'}`,
          'Engagement rate at least 3%; audience 60%+ in India',
        ]),
      },
      {
        heading: 'Shortlist',
        lines: creators.length
          ? table(
              ['Handle', 'Followers', 'Engagement rate'],
              creators.map((c) => [c.handle, c.followers, `${c.er}%`]),
            )
          : ['- Send details.creators: [{ handle, followers, engagementRate, language, niche }] to rank'],
      },
    ],
    ask.business,
  );
};

/** influencer.write-brief: a creator brief for the product and format named. */
const writeBrief: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const format = /\b(reels?|stories|shorts|posts?|videos?)\b/i.exec(ask.request)?.[1] ?? 'reel';
  const product =
    /(?:launching|for|of)\s+(?:our|the)?\s*(.+?)(?:[?.]|$)/i.exec(ask.request)?.[1] ?? topicOf(ask.request);
  return markdownResult(
    request,
    `Creator brief: ${product}`,
    `${format} brief for ${product}`,
    [
      {
        heading: 'Objective',
        lines: bullets([
          `Launch ${product} to ${ask.business?.audience ?? 'the creator audience'}`,
          `Format: ${format}, 30-45 seconds, vertical`,
        ]),
      },
      {
        heading: 'Must include',
        lines: bullets([
          `Show ${product} in the first 3 seconds`,
          'One honest reaction, no scripted claims',
          'Disclosure: #ad or "Paid partnership" label (ASCI)',
          'Link or code for tracking',
        ]),
      },
      {
        heading: 'Timeline',
        lines: bullets([
          `Draft by ${addDays(request.context.now, 7)}`,
          `Go live ${addDays(request.context.now, 14)}`,
        ]),
      },
    ],
    ask.business,
  );
};

/** influencer.estimate-roi: break-even maths for the spend and creators in the request. */
const estimateRoi: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const spend = detailNumberOr(ask.details, 'budget', parseAmount(ask.request) ?? 100000);
  const creators = countOf(ask.request, ['creators?', 'influencers?'], 5);
  const reach = detailNumberOr(ask.details, 'averageReach', 20000);
  const ctr = detailNumberOr(ask.details, 'clickRate', 1.5);
  const cvr = detailNumberOr(ask.details, 'conversionRate', 3);
  const aov = detailNumberOr(ask.details, 'averageOrderValue', 800);
  const margin = detailNumberOr(ask.details, 'grossMargin', 40);
  const orders = (creators * reach * ctr * cvr) / 10000;
  const profit = orders * aov * (margin / 100);
  const breakEvenOrders = spend / (aov * (margin / 100));
  return markdownResult(
    request,
    `Influencer ROI: ${inr(spend)} on ${creators} creators`,
    `expected ${Math.round(orders)} orders vs ${Math.ceil(breakEvenOrders)} to break even`,
    [
      {
        heading: 'Inputs',
        lines: bullets([
          `Spend ${inr(spend)} (${inr(spend / creators)} per creator)`,
          `Reach per creator ${reach}, click rate ${ctr}%, conversion ${cvr}%`,
          `Order value ${inr(aov)}, gross margin ${margin}%`,
        ]),
      },
      {
        heading: 'Result',
        lines: bullets([
          `Expected orders: ${round(orders, 1)}`,
          `Gross profit: ${inr(profit)}`,
          `Break-even needs ${Math.ceil(breakEvenOrders)} orders`,
          `ROI: ${round(((profit - spend) / spend) * 100, 1)}%`,
          profit >= spend
            ? 'Worth it on these assumptions'
            : `Not worth it unless reach or conversion rises ${round(breakEvenOrders / Math.max(orders, 0.01), 1)}x`,
        ]),
      },
    ],
    ask.business,
  );
};

export const marketingCapabilities: Record<string, CapabilityImpl> = {
  'content.write-article': writeArticle,
  'content.plan-calendar': planCalendar('Content', [1, 4], (t) => [
    `Explainer on ${t}`,
    'Patient story',
    'Myth vs fact',
    'Doctor Q&A',
  ]),
  'content.review-compliance': reviewCompliance,
  'email.plan-sequence': planSequence,
  'email.write-campaign': writeCampaign,
  'email.segment-audience': segmentAudience,
  'social.write-post': writePost,
  'social.plan-calendar': planCalendar('LinkedIn', [2, 4], (t) => [
    `Insight on ${t}`,
    'Customer proof',
    'Founder view',
    'How-to carousel',
  ]),
  'social.analyse-engagement': analyseEngagement,
  'ppc.build-campaign': buildCampaign,
  'ppc.write-ad-copy': writeAdCopy,
  'ppc.optimize-bids': optimizeBids,
  'brand.define-positioning': definePositioning,
  'brand.write-voice-guide': writeVoiceGuide,
  'brand.audit-touchpoints': auditTouchpoints,
  'influencer.shortlist-creators': shortlistCreators,
  'influencer.write-brief': writeBrief,
  'influencer.estimate-roi': estimateRoi,
};
