import { SkillInputError } from '../types';
import { addDays, countOf, inr, parseAmount, pct, round } from './kit/numbers';
import { bullets, markdownResult, numbered, table } from './kit/render';
import type { CapabilityImpl } from './kit/request';
import { askOf, detailRecords, num, str } from './kit/request';
import { titleCase } from './kit/text';

export interface BantLead {
  budget?: string | number;
  authority?: string;
  need?: string;
  timeline?: string;
}

export interface BantScore {
  criterion: 'Budget' | 'Authority' | 'Need' | 'Timeline';
  score: number;
  reason: string;
}

export interface BantResult {
  scores: BantScore[];
  total: number;
  tier: 'hot' | 'warm' | 'cold';
}

const has = (text: string, re: RegExp) => re.test(text.toLowerCase());

function scoreBudget(v: string | number | undefined): BantScore {
  const text = v === undefined ? '' : String(v);
  const amount = typeof v === 'number' ? v : parseAmount(text);
  if (!text) return { criterion: 'Budget', score: 0, reason: 'No budget information' };
  if (has(text, /\b(no budget|none|zero)\b/))
    return { criterion: 'Budget', score: 0, reason: `Budget stated as "${text}"` };
  if (
    has(text, /\b(approved|allocated|signed off|sanctioned)\b/) ||
    (amount !== undefined && amount >= 500000)
  )
    return { criterion: 'Budget', score: 25, reason: `Budget confirmed: ${text}` };
  if (amount !== undefined && amount > 0)
    return { criterion: 'Budget', score: 18, reason: `Budget of ${inr(amount)} mentioned, not yet approved` };
  if (has(text, /\b(exploring|tbd|unknown|not sure|planning)\b/))
    return { criterion: 'Budget', score: 8, reason: `Budget not set: ${text}` };
  return { criterion: 'Budget', score: 12, reason: `Budget signal: ${text}` };
}

function scoreAuthority(v: string | undefined): BantScore {
  const t = v ?? '';
  if (!t) return { criterion: 'Authority', score: 0, reason: 'Decision maker unknown' };
  if (has(t, /\b(ceo|cfo|cto|coo|founder|owner|director|vp|head|decision maker|md)\b/))
    return { criterion: 'Authority', score: 25, reason: `Talking to a decision maker: ${t}` };
  if (has(t, /\b(manager|lead|influencer|champion)\b/))
    return { criterion: 'Authority', score: 15, reason: `Influencer, not the signer: ${t}` };
  return { criterion: 'Authority', score: 5, reason: `Contact has little authority: ${t}` };
}

function scoreNeed(v: string | undefined): BantScore {
  const t = v ?? '';
  if (!t) return { criterion: 'Need', score: 0, reason: 'No pain identified' };
  if (has(t, /\b(urgent|critical|losing|failing|must|compliance|audit|penalt)/))
    return { criterion: 'Need', score: 25, reason: `Acute pain: ${t}` };
  if (has(t, /\b(need|problem|slow|manual|pain|struggl|improve)/))
    return { criterion: 'Need', score: 18, reason: `Clear need: ${t}` };
  return { criterion: 'Need', score: 8, reason: `Vague interest: ${t}` };
}

function scoreTimeline(v: string | undefined): BantScore {
  const t = v ?? '';
  if (!t) return { criterion: 'Timeline', score: 0, reason: 'No timeline' };
  const months = /(\d+)\s*month/i.exec(t)?.[1];
  const weeks = /(\d+)\s*week/i.exec(t)?.[1];
  const m = months ? Number(months) : weeks ? Number(weeks) / 4 : undefined;
  if (has(t, /\b(this month|immediately|asap|now|this quarter)\b/) || (m !== undefined && m <= 3))
    return { criterion: 'Timeline', score: 25, reason: `Buying soon: ${t}` };
  if (has(t, /\b(next quarter|this year)\b/) || (m !== undefined && m <= 6))
    return { criterion: 'Timeline', score: 15, reason: `Within six months: ${t}` };
  return { criterion: 'Timeline', score: 5, reason: `Distant or open timeline: ${t}` };
}

/** Scores a lead on BANT (0-25 each, with the reason) and tiers it: hot >= 75, warm >= 50, else cold. */
export function scoreBant(lead: BantLead): BantResult {
  const scores = [
    scoreBudget(lead.budget),
    scoreAuthority(lead.authority),
    scoreNeed(lead.need),
    scoreTimeline(lead.timeline),
  ];
  const total = scores.reduce((a, s) => a + s.score, 0);
  return { scores, total, tier: total >= 75 ? 'hot' : total >= 50 ? 'warm' : 'cold' };
}

/** Reads BANT facts from free text ("budget 10 lakh approved, CFO, need to stop manual invoicing, in 2 months"). */
export function bantFromText(text: string): BantLead {
  const clause = (re: RegExp) => re.exec(text)?.[0];
  const lead: BantLead = {};
  const budget = clause(/(?:budget[^,;.]*|\b(?:rs\.?|inr|₹)\s*[\d,.]+\s*(?:lakh|crore|k)?[^,;.]*)/i);
  const authority = clause(
    /\b(?:ceo|cfo|cto|coo|founder|owner|director|vp|head of [a-z]+|it head|manager|intern|analyst)\b[^,;.]*/i,
  );
  const need = clause(/\b(?:need|needs|pain|problem|struggl\w*|losing|manual|urgent)\b[^,;.]*/i);
  const timeline = clause(
    /\b(?:in \d+ (?:weeks?|months?)|within [^,;.]+|this (?:month|quarter|year)|next (?:month|quarter|year)|asap|immediately)\b[^,;.]*/i,
  );
  if (budget) lead.budget = budget.trim();
  if (authority) lead.authority = authority.trim();
  if (need) lead.need = need.trim();
  if (timeline) lead.timeline = timeline.trim();
  return lead;
}

function leadFromDetails(details: Record<string, unknown>): BantLead | undefined {
  const l = details.lead;
  if (l === undefined) return undefined;
  if (typeof l !== 'object' || l === null || Array.isArray(l))
    throw new SkillInputError('details.lead must be an object { budget, authority, need, timeline }');
  const r = l as Record<string, unknown>;
  const lead: BantLead = {};
  const budget = typeof r.budget === 'number' ? r.budget : str(r, 'budget');
  if (budget !== '') lead.budget = budget;
  for (const k of ['authority', 'need', 'timeline'] as const) if (str(r, k)) lead[k] = str(r, k);
  return lead;
}

/** sales.qualify-lead: BANT scoring with reasons, tier and the questions to close the gaps. */
const qualifyLead: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const lead = leadFromDetails(ask.details) ?? bantFromText(ask.request);
  const r = scoreBant(lead);
  const gaps = r.scores.filter((s) => s.score < 15);
  const questions: Record<string, string> = {
    Budget: 'What budget has been set aside for this, and who approves it?',
    Authority: 'Who else will sign off, and what do they need to see?',
    Need: 'What does this problem cost you each month today?',
    Timeline: 'By when does this need to be live, and what drives that date?',
  };
  return markdownResult(
    request,
    `Lead qualification: ${r.tier.toUpperCase()} (${r.total}/100)`,
    `BANT ${r.total}/100, ${r.tier}`,
    [
      {
        heading: 'BANT score',
        lines: table(
          ['Criterion', 'Score', 'Reason'],
          r.scores.map((s) => [s.criterion, `${s.score}/25`, s.reason]),
        ),
      },
      {
        heading: 'Verdict',
        lines: bullets([
          `Total ${r.total}/100: ${r.tier} (hot >= 75, warm >= 50)`,
          r.tier === 'hot'
            ? 'Book a demo this week with the decision maker'
            : r.tier === 'warm'
              ? 'Run discovery to close the gaps below'
              : 'Nurture: add to a monthly content sequence',
        ]),
      },
      {
        heading: 'Questions to close the gaps',
        lines: bullets(
          gaps.length ? gaps.map((g) => questions[g.criterion]!) : ['None: all four criteria are covered'],
        ),
      },
    ],
    ask.business,
  );
};

/** sales.write-outreach-sequence: N touches across email, LinkedIn and phone with dates. */
const writeOutreach: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const n = countOf(ask.request, ['-?steps?', '-?touch(?:es)?', '-?emails?'], 5, 10);
  const persona = /for\s+(.+?)(?:[?.]|$)/i.exec(ask.request)?.[1] ?? ask.business?.audience ?? 'buyers';
  const seller = ask.business?.businessName ?? 'our product';
  const channels = [
    'Email',
    'LinkedIn',
    'Email',
    'Call',
    'Email',
    'LinkedIn',
    'Call',
    'Email',
    'Email',
    'Call',
  ];
  const gaps = [0, 2, 4, 7, 11, 15, 20, 25, 30, 35];
  const msgs = [
    `Why ${persona} are rethinking this now; one question`,
    'Connect with a one-line insight',
    `Short case study: how a peer of ${persona} saved time with ${seller}`,
    'Call: ask for 20 minutes',
    'Break-up note that leaves the door open',
  ];
  return markdownResult(
    request,
    `${n}-step outreach for ${persona}`,
    `${n} touches over ${gaps[n - 1]} days`,
    [
      {
        heading: 'Sequence',
        lines: table(
          ['Step', 'Day', 'Date', 'Channel', 'Message'],
          Array.from({ length: n }, (_, i) => [
            i + 1,
            gaps[i]!,
            addDays(request.context.now, gaps[i]!),
            channels[i]!,
            msgs[i % msgs.length]!,
          ]),
        ),
      },
      {
        heading: 'Personalisation',
        lines: bullets([
          `Open with a trigger specific to ${persona} (new regulation, funding, hiring)`,
          `Sign as ${seller}`,
          'Stop on reply; log every touch in the CRM',
        ]),
      },
    ],
    ask.business,
  );
};

/** sales.draft-proposal: pricing table for the seats and term in the request. */
const draftProposal: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const seats = countOf(ask.request, ['seats?', 'users?', 'licen[cs]es?'], 50, 100000);
  const years = countOf(ask.request, ['-?years?', '-?yr'], 1, 5);
  const price = typeof ask.details.pricePerSeatMonthly === 'number' ? ask.details.pricePerSeatMonthly : 500;
  const discount = Math.min(25, (years - 1) * 7.5 + (seats >= 200 ? 5 : 0));
  const annual = seats * price * 12 * (1 - discount / 100);
  return markdownResult(
    request,
    `Proposal: ${seats} seats, ${years}-year term`,
    `${inr(annual)} a year, ${discount}% discount`,
    [
      {
        heading: 'Commercials',
        lines: table(
          ['Item', 'Value'],
          [
            ['Seats', seats],
            ['List price per seat per month', inr(price)],
            ['Term discount', `${discount}%`],
            ['Annual fee', inr(annual)],
            [`Total over ${years} year(s)`, inr(annual * years)],
          ],
        ),
      },
      {
        heading: 'Terms',
        lines: bullets([
          `Price locked for ${years} year(s)`,
          'Annual billing in advance; GST extra at 18%',
          `Valid until ${addDays(request.context.now, 30)}`,
        ]),
      },
    ],
    ask.business,
  );
};

const OBJECTIONS: { type: string; match: RegExp; reply: string }[] = [
  {
    type: 'price',
    match: /price|cost|expensive|cheaper|budget|higher/i,
    reply: 'Compare total cost over three years, not the sticker price',
  },
  {
    type: 'competitor',
    match: /vendor|competitor|already use|zoho|salesforce|tally/i,
    reply: 'Ask what they would keep and what they would change about the current vendor',
  },
  {
    type: 'timing',
    match: /later|next year|not now|busy|timing/i,
    reply: 'Ask what happens if nothing changes for six months',
  },
  {
    type: 'authority',
    match: /boss|board|approval|decide/i,
    reply: 'Offer a one-page business case for the approver',
  },
];

/** sales.handle-objection: classifies the objection and does the maths on any price gap. */
const handleObjection: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const o = OBJECTIONS.find((x) => x.match.test(ask.request)) ?? {
    type: 'unclear',
    reply: 'Ask a clarifying question before answering',
  };
  const gap = Number(/(\d+)\s*%/.exec(ask.request)?.[1] ?? 0);
  const maths = gap
    ? [
        `A ${gap}% higher price pays for itself if it saves ${round((gap / (100 + gap)) * 100, 1)}% of the total cost of the cheaper option`,
        `Per INR 1,00,000 of the rival's price: extra ${inr(gap * 1000)} a year`,
      ]
    : [];
  return markdownResult(
    request,
    `Objection: ${o.type}`,
    `${o.type} objection handled`,
    [
      { heading: 'Objection', lines: [ask.request] },
      {
        heading: 'Response',
        lines: numbered([
          'Acknowledge: "That is a fair point to raise."',
          o.reply,
          ...maths,
          'Confirm: "If we can show that, would it change the decision?"',
        ]),
      },
    ],
    ask.business,
  );
};

/** sales.prepare-discovery-call / research-account: a call plan from the persona and account named. */
const prepareCall: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const who = /with\s+(?:the\s+)?(.+?)(?:\s+of\s+|$)/i.exec(ask.request)?.[1] ?? 'the buyer';
  const account =
    /of\s+(?:a|an|the)?\s*(.+?)(?:[?.]|$)/i.exec(ask.request)?.[1] ??
    /research\s+(.+?)\s+before/i.exec(ask.request)?.[1] ??
    'the account';
  const role = /\b(it|cfo|ceo|hr|finance|operations|procurement)\b/i.exec(who)?.[1]?.toUpperCase() ?? 'BUYER';
  const focus: Record<string, string[]> = {
    IT: ['Integration with existing systems', 'Security and data residency', 'Rollout effort'],
    CFO: ['Cost and payback period', 'Audit and compliance', 'Cash-flow impact'],
    FINANCE: ['Cost and payback period', 'Month-end close time', 'Compliance'],
    HR: ['Employee experience', 'Payroll accuracy', 'Policy compliance'],
  };
  return markdownResult(
    request,
    `Call plan: ${titleCase(who)} at ${account}`,
    `discovery plan for ${who}`,
    [
      {
        heading: 'Account',
        lines: bullets([
          `Account: ${account}`,
          `Persona: ${who} (${role})`,
          ...(ask.business ? [`Selling: ${ask.business.businessName}`] : []),
        ]),
      },
      {
        heading: 'What they care about',
        lines: bullets(focus[role] ?? ['Outcome for their team', 'Risk of change', 'Cost']),
      },
      {
        heading: 'Questions',
        lines: numbered(
          (focus[role] ?? ['their priorities'])
            .map((f) => `How do you handle ${f.toLowerCase()} today, and what does it cost?`)
            .concat('Who else is involved in deciding?'),
        ),
      },
    ],
    ask.business,
  );
};

/** crm.clean-records: dedupes and normalises the records given (emails, Indian phone numbers, names). */
export function cleanRecords(records: Record<string, unknown>[]) {
  const seen = new Map<string, number>();
  const issues: string[] = [];
  const cleaned = records.map((r, i) => {
    const email = str(r, 'email').trim().toLowerCase();
    const digits = str(r, 'phone')
      .replace(/\D/g, '')
      .replace(/^(91|0)(?=\d{10}$)/, '');
    const phone =
      digits.length === 10
        ? `+91 ${digits.slice(0, 5)} ${digits.slice(5)}`
        : digits
          ? `invalid (${str(r, 'phone')})`
          : '';
    const name = titleCase(str(r, 'name').trim().toLowerCase().replace(/\s+/g, ' '));
    if (email && !/^[^@\s]+@[^@\s]+\.[a-z]{2,}$/.test(email))
      issues.push(`Row ${i + 1}: invalid email ${email}`);
    if (phone.startsWith('invalid')) issues.push(`Row ${i + 1}: ${phone}`);
    const key = email || digits;
    const dupOf = key ? seen.get(key) : undefined;
    if (key && dupOf === undefined) seen.set(key, i + 1);
    return { row: i + 1, name, email, phone, duplicateOf: dupOf };
  });
  return { cleaned, issues, duplicates: cleaned.filter((c) => c.duplicateOf !== undefined).length };
}

const cleanCrm: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const records = detailRecords(ask.details, 'records');
  const { cleaned, issues, duplicates } = cleanRecords(records);
  return markdownResult(
    request,
    `CRM clean-up: ${records.length} records`,
    `${duplicates} duplicates, ${issues.length} issues in ${records.length} records`,
    [
      {
        heading: 'Result',
        lines: records.length
          ? table(
              ['Row', 'Name', 'Email', 'Phone', 'Duplicate of'],
              cleaned.map((c) => [c.row, c.name, c.email, c.phone, c.duplicateOf ?? '']),
            )
          : ['- Send details.records: [{ name, email, phone }] (the export rows)'],
      },
      { heading: 'Issues', lines: bullets(issues.length ? issues : ['None found']) },
    ],
    ask.business,
  );
};

/** crm.review-pipeline: risk-scores the deals given (stale, slipping close date, no next step). */
const reviewPipeline: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const now = request.context.now.getTime();
  const deals = detailRecords(ask.details, 'deals').map((d) => {
    const reasons: string[] = [];
    const idle = (now - Date.parse(str(d, 'lastActivity') || '1970-01-01')) / 86_400_000;
    if (idle > 14) reasons.push(`no activity for ${Math.floor(idle)} days`);
    if (str(d, 'closeDate') && Date.parse(str(d, 'closeDate')) < now) reasons.push('close date has passed');
    if (!str(d, 'nextStep')) reasons.push('no next step');
    return { name: str(d, 'name'), value: num(d, 'value') ?? 0, reasons };
  });
  const risky = deals
    .filter((d) => d.reasons.length)
    .sort((a, b) => b.reasons.length - a.reasons.length || b.value - a.value);
  return markdownResult(
    request,
    `Pipeline review: ${risky.length} of ${deals.length} deals at risk`,
    `${inr(risky.reduce((a, d) => a + d.value, 0))} at risk`,
    [
      {
        heading: 'At-risk deals',
        lines: deals.length
          ? table(
              ['Deal', 'Value', 'Risks'],
              risky.map((d) => [d.name, inr(d.value), d.reasons.join('; ')]),
            )
          : ['- Send details.deals: [{ name, value, lastActivity, closeDate, nextStep }]'],
      },
      {
        heading: 'Coverage',
        lines: bullets([`${deals.length} deals, ${pct(risky.length, deals.length)}% at risk`]),
      },
    ],
    ask.business,
  );
};

/** crm.summarize-activity: counts and timeline of the activities given for the account. */
const summarizeActivity: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const acts = detailRecords(ask.details, 'activities').sort((a, b) =>
    str(a, 'date').localeCompare(str(b, 'date')),
  );
  const byType = new Map<string, number>();
  for (const a of acts)
    byType.set(str(a, 'type') || 'other', (byType.get(str(a, 'type') || 'other') ?? 0) + 1);
  return markdownResult(
    request,
    `Activity summary: ${acts.length} activities`,
    `${acts.length} activities summarised`,
    [
      { heading: 'Request', lines: [ask.request] },
      {
        heading: 'By type',
        lines: acts.length
          ? table(['Type', 'Count'], [...byType.entries()].sort())
          : ['- Send details.activities: [{ date, type, note }]'],
      },
      {
        heading: 'Timeline',
        lines: bullets(acts.map((a) => `${str(a, 'date')}: ${str(a, 'type')} - ${str(a, 'note')}`)),
      },
    ],
    ask.business,
  );
};

/** leads.define-icp: the most common firmographics of the best customers given. */
const defineIcp: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const customers = detailRecords(ask.details, 'customers');
  const mode = (key: string) => {
    const c = new Map<string, number>();
    for (const x of customers) if (str(x, key)) c.set(str(x, key), (c.get(str(x, key)) ?? 0) + 1);
    return [...c.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
  };
  const sizes = customers
    .map((c) => num(c, 'employees'))
    .filter((n): n is number => n !== undefined)
    .sort((a, b) => a - b);
  const q = (p: number) => sizes[Math.floor((sizes.length - 1) * p)];
  const rows = customers.length
    ? [
        ['Industry', mode('industry')?.join(' (') + ')'],
        ['City', mode('city')?.join(' (') + ')'],
        ['Buyer role', mode('buyerRole')?.join(' (') + ')'],
        ['Employees (middle half)', sizes.length ? `${q(0.25)}-${q(0.75)}` : 'n/a'],
      ]
    : [
        ['Industry', ask.business?.industry ?? 'unknown'],
        ['Buyer', ask.business?.audience ?? 'unknown'],
        ['City', ask.business?.city ?? 'unknown'],
      ];
  return markdownResult(
    request,
    `Ideal customer profile`,
    `ICP from ${customers.length || 'no'} customers`,
    [
      {
        heading: 'Profile',
        lines: table(
          ['Attribute', 'Value'],
          rows.map((r) => [r[0]!, String(r[1])]),
        ),
      },
      {
        heading: 'Basis',
        lines: bullets([
          customers.length
            ? `${customers.length} customers in details.customers`
            : 'From the business context; send details.customers [{ industry, city, employees, buyerRole }]',
        ]),
      },
    ],
    ask.business,
  );
};

/** leads.build-list: parses the list spec (count, role, industry, city, size band) into filters. */
const buildList: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const t = ask.request;
  const count = Number(
    /^(\d[\d,]*)/.exec(t.trim())?.[1]?.replace(/,/g, '') ?? countOf(t, ['leads?', 'contacts?'], 100, 100000),
  );
  const size = /(\d+)\s*-\s*(\d+)\s*employees/i.exec(t);
  const role = /\d+\s+(.+?)\s+at\s+/i.exec(t)?.[1] ?? 'decision makers';
  const industry = /at\s+(.+?)\s+(?:firms|companies|in)\b/i.exec(t)?.[1] ?? 'any';
  const city = /\bin\s+([A-Z][a-z]+)/.exec(t)?.[1] ?? ask.business?.city ?? 'India';
  return markdownResult(
    request,
    `Lead list spec: ${count} ${role}`,
    `${count} ${role} in ${city}`,
    [
      {
        heading: 'Filters',
        lines: table(
          ['Filter', 'Value'],
          [
            ['Count', count],
            ['Role', role],
            ['Industry', industry],
            ['City', city],
            ['Company size', size ? `${size[1]}-${size[2]} employees` : 'any'],
          ],
        ),
      },
      {
        heading: 'Sourcing plan',
        lines: bullets([
          `Pull ${Math.ceil(count * 1.4)} raw records to end with ${count} verified (about 30% fail verification)`,
          'Verify emails before export',
          'Deduplicate against the CRM',
        ]),
      },
    ],
    ask.business,
  );
};

/** leads.enrich-contacts: normalises company names and derives likely domains for the list given. */
const enrichContacts: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const companies = Array.isArray(ask.details.companies)
    ? ask.details.companies.filter((c): c is string => typeof c === 'string')
    : [];
  const rows = companies.map((c) => {
    const clean = c
      .replace(/\b(pvt|private|ltd|limited|llp|inc)\b\.?/gi, '')
      .replace(/\s+/g, ' ')
      .trim();
    return [c, clean, `${clean.toLowerCase().replace(/[^a-z0-9]/g, '')}.com (to verify)`];
  });
  return markdownResult(
    request,
    `Enrichment: ${companies.length} companies`,
    `${companies.length} companies normalised`,
    [
      {
        heading: 'Companies',
        lines: rows.length
          ? table(['Given', 'Normalised', 'Likely domain'], rows)
          : ['- Send details.companies: ["Acme Logistics Pvt Ltd", ...]'],
      },
      {
        heading: 'Fields to add',
        lines: bullets(['Industry and employee band', 'Decision maker name and role', 'Verified work email']),
      },
    ],
    ask.business,
  );
};

/** enablement.build-battlecard / create-playbook / generate-quiz: from the competitor or topic named. */
const battlecard: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const rival =
    /against\s+(?:a|an|the)?\s*(.+?)(?:\s+deal)?(?:[?.]|$)/i.exec(ask.request)?.[1] ?? 'the competitor';
  const us = ask.business?.businessName ?? 'us';
  return markdownResult(
    request,
    `Battlecard: ${us} vs ${rival}`,
    `battlecard against ${rival}`,
    [
      {
        heading: 'Where we win',
        lines: bullets([
          `Fit for ${ask.business?.audience ?? 'our segment'}`,
          'Faster rollout',
          'Local support',
        ]),
      },
      { heading: `Where ${rival} wins`, lines: bullets(['Brand recognition', 'Bundled suite pricing']) },
      {
        heading: 'Landmines to set',
        lines: numbered([
          `Ask how long ${rival} took to go live at a similar company`,
          'Ask what the total three-year cost is, with add-ons',
        ]),
      },
    ],
    ask.business,
  );
};

const createPlaybook: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const segment = /to\s+(.+?)(?:[?.]|$)/i.exec(ask.request)?.[1] ?? 'the segment';
  const stages = ['Prospect', 'Discover', 'Demo', 'Propose', 'Close'];
  return markdownResult(
    request,
    `Playbook: selling to ${segment}`,
    `${stages.length}-stage playbook for ${segment}`,
    [
      {
        heading: 'Stages',
        lines: table(
          ['Stage', 'Exit criterion', 'Target days'],
          stages.map((s, i) => [
            s,
            ['Meeting booked', 'BANT >= 50', 'Champion confirmed', 'Proposal reviewed', 'Signed'][i]!,
            [7, 14, 14, 21, 14][i]!,
          ]),
        ),
      },
      {
        heading: 'Segment notes',
        lines: bullets([`Buyers in ${segment}`, `Expected cycle: ${7 + 14 + 14 + 21 + 14} days`]),
      },
    ],
    ask.business,
  );
};

const generateQuiz: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const n = countOf(ask.request, ['-?questions?'], 5, 30);
  const facts = Array.isArray(ask.details.facts)
    ? ask.details.facts.filter((f): f is string => typeof f === 'string')
    : [];
  const source = facts.length
    ? facts
    : [
        `${ask.business?.businessName ?? 'Our product'} is sold to ${ask.business?.audience ?? 'our buyers'}`,
        `Our main goal is ${ask.business?.goals[0] ?? 'more qualified deals'}`,
      ];
  const qs = Array.from({ length: n }, (_, i) => {
    const f = source[i % source.length]!;
    const words = f.split(' ');
    const hide = words.reduce((best, w, j) => (w.length > (words[best]?.length ?? 0) ? j : best), 0);
    return { q: words.map((w, j) => (j === hide ? '_____' : w)).join(' '), a: words[hide]! };
  });
  return markdownResult(
    request,
    `Quiz: ${n} questions`,
    `${n}-question quiz`,
    [
      { heading: 'Questions', lines: numbered(qs.map((q) => q.q)) },
      { heading: 'Answers', lines: numbered(qs.map((q) => q.a)) },
      {
        heading: 'Source',
        lines: bullets([
          facts.length
            ? `${facts.length} facts from details.facts`
            : 'Business context (send details.facts for product-specific questions)',
        ]),
      },
    ],
    ask.business,
  );
};

export const salesCapabilities: Record<string, CapabilityImpl> = {
  'sales.qualify-lead': qualifyLead,
  'sales.write-outreach-sequence': writeOutreach,
  'sales.draft-proposal': draftProposal,
  'sales.handle-objection': handleObjection,
  'sales.prepare-discovery-call': prepareCall,
  'sales.research-account': prepareCall,
  'crm.clean-records': cleanCrm,
  'crm.review-pipeline': reviewPipeline,
  'crm.summarize-activity': summarizeActivity,
  'leads.define-icp': defineIcp,
  'leads.build-list': buildList,
  'leads.enrich-contacts': enrichContacts,
  'enablement.build-battlecard': battlecard,
  'enablement.create-playbook': createPlaybook,
  'enablement.generate-quiz': generateQuiz,
};
