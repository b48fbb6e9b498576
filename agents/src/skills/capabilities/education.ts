import { SkillInputError } from '../types';
import { addDays, countOf, pct, round } from './kit/numbers';
import { bullets, markdownResult, numbered, table } from './kit/render';
import type { CapabilityImpl } from './kit/request';
import { askOf, detailList, detailNumber, detailRecords, detailString, num, str } from './kit/request';
import { contentWords, hash, overlap, quoted, titleCase } from './kit/text';

/** A deterministic pseudo-random sequence seeded from the request, so material varies by input, not by chance. */
function seeded(seed: string): () => number {
  let h = hash(seed);
  return () => {
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    h = (h ^ (h >>> 12)) >>> 0;
    return h / 0x1_0000_0000;
  };
}
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const intIn = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

// ---- careers -------------------------------------------------------------------------------------

interface Career {
  path: string;
  stream: 'science' | 'commerce' | 'arts' | 'any';
  interests: string[];
  exams: string;
  cost: string;
  outlook: string;
}
const CAREERS: readonly Career[] = [
  {
    path: 'Engineering (B.Tech)',
    stream: 'science',
    interests: ['maths', 'physics', 'coding', 'machines', 'building'],
    exams: 'JEE Main, JEE Advanced, state CETs',
    cost: 'INR 1-4 lakh/yr (govt) to 15 lakh total (private)',
    outlook: 'strong in software, electronics, EV',
  },
  {
    path: 'Medicine (MBBS)',
    stream: 'science',
    interests: ['biology', 'helping', 'health', 'chemistry'],
    exams: 'NEET-UG',
    cost: 'INR 0.5-1 lakh/yr (govt) to 60 lakh+ (private)',
    outlook: 'steady; long training',
  },
  {
    path: 'Design (B.Des)',
    stream: 'any',
    interests: ['drawing', 'art', 'design', 'creative', 'sketching', 'fashion'],
    exams: 'NID DAT, UCEED, NIFT',
    cost: 'INR 3-5 lakh/yr',
    outlook: 'growing in UX, product, fashion',
  },
  {
    path: 'Biotechnology / Life sciences',
    stream: 'science',
    interests: ['biology', 'research', 'chemistry', 'lab'],
    exams: 'CUET, IISER IAT',
    cost: 'INR 0.5-3 lakh/yr',
    outlook: 'research, pharma, agri-biotech',
  },
  {
    path: 'Chartered Accountancy (CA)',
    stream: 'commerce',
    interests: ['accounts', 'numbers', 'finance', 'tax'],
    exams: 'CA Foundation',
    cost: 'INR 0.8-1.5 lakh total',
    outlook: 'high demand; hard exams',
  },
  {
    path: 'Company Secretary (CS) / CMA',
    stream: 'commerce',
    interests: ['law', 'accounts', 'compliance', 'finance'],
    exams: 'CSEET, CMA Foundation',
    cost: 'INR 0.5-1 lakh total',
    outlook: 'steady corporate demand',
  },
  {
    path: 'BBA / Management (IPM)',
    stream: 'any',
    interests: ['business', 'leading', 'people', 'marketing'],
    exams: 'IPMAT, CUET, NPAT',
    cost: 'INR 2-8 lakh/yr',
    outlook: 'broad; MBA later',
  },
  {
    path: 'Economics / Data analytics',
    stream: 'any',
    interests: ['maths', 'numbers', 'economics', 'data', 'statistics'],
    exams: 'CUET, ISI admission test',
    cost: 'INR 0.2-3 lakh/yr',
    outlook: 'strong in analytics and policy',
  },
  {
    path: 'Law (BA LLB)',
    stream: 'any',
    interests: ['debate', 'law', 'reading', 'writing', 'justice'],
    exams: 'CLAT, AILET',
    cost: 'INR 2-4 lakh/yr',
    outlook: 'corporate law and litigation',
  },
  {
    path: 'Psychology',
    stream: 'arts',
    interests: ['people', 'helping', 'mind', 'biology', 'reading'],
    exams: 'CUET',
    cost: 'INR 0.3-2 lakh/yr',
    outlook: 'counselling, HR, UX research',
  },
  {
    path: 'Mass communication / Journalism',
    stream: 'arts',
    interests: ['writing', 'speaking', 'media', 'video', 'reading'],
    exams: 'CUET, IIMC entrance',
    cost: 'INR 1-3 lakh/yr',
    outlook: 'digital media growth',
  },
];

const ACADEMIC_WORDS = [
  'maths',
  'math',
  'physics',
  'chemistry',
  'biology',
  'accounts',
  'economics',
  'english',
  'history',
  'coding',
  'computer',
];

function profileOf(text: string, details: Record<string, unknown>) {
  const words = contentWords(text).map((w) => (w === 'math' ? 'maths' : w));
  const stream = /\bcommerce\b/i.test(text)
    ? 'commerce'
    : /\b(arts|humanities)\b/i.test(text)
      ? 'arts'
      : /\b(science|pcm|pcb)\b/i.test(text)
        ? 'science'
        : undefined;
  return {
    cls: Number(/class\s*(\d{1,2})/i.exec(text)?.[1] ?? 0) || undefined,
    marks: detailNumber(details, 'percentage') ?? Number(/(\d{2,3}(?:\.\d+)?)\s*%/.exec(text)?.[1] ?? NaN),
    stream,
    interests: [...new Set([...detailList(details, 'interests'), ...words])],
    excluded: /\b(?:besides|except|other than|not)\s+(\w+)/i.exec(text)?.[1]?.toLowerCase(),
  };
}

function scoreCareers(p: ReturnType<typeof profileOf>) {
  return CAREERS.filter((c) => !p.excluded || !new RegExp(`\\b${p.excluded}\\b`, 'i').test(c.path))
    .map((c) => {
      const fit = overlap(c.interests, p.interests);
      const streamFit = !p.stream ? 0.4 : c.stream === p.stream ? 0.4 : c.stream === 'any' ? 0.3 : 0;
      return { c, score: round(streamFit + 0.6 * fit, 2) };
    })
    .sort((a, b) => b.score - a.score || a.c.path.localeCompare(b.c.path));
}

const assessProfile: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const p = profileOf(ask.request, ask.details);
  const academic = p.interests.filter((i) => ACADEMIC_WORDS.includes(i));
  const hobbies = p.interests.filter(
    (i) => CAREERS.some((c) => c.interests.includes(i)) && !academic.includes(i),
  );
  const band = Number.isNaN(p.marks)
    ? 'unknown'
    : p.marks >= 90
      ? 'excellent'
      : p.marks >= 75
        ? 'strong'
        : p.marks >= 60
          ? 'average'
          : 'needs support';
  const top = scoreCareers(p).slice(0, 3);
  const open = [
    ...(p.cls ? [] : ['Which class are you in?']),
    ...(Number.isNaN(p.marks) ? ['What were your last exam marks?'] : []),
    ...(p.stream || (p.cls ?? 0) <= 10 ? [] : ['Which stream: science, commerce or arts?']),
    ...(detailString(ask.details, 'budget') ? [] : ['What yearly fee budget can the family manage?']),
    'Are you open to studying outside your home city?',
  ];
  return markdownResult(
    request,
    'Student profile',
    `class ${p.cls ?? '?'}, marks ${band}, leaning ${top[0]?.c.path ?? 'undecided'}`,
    [
      {
        heading: 'Profile',
        lines: table(
          ['Item', 'Reading'],
          [
            ['Class', p.cls ?? 'not given'],
            ['Marks', Number.isNaN(p.marks) ? 'not given' : `${p.marks}% (${band})`],
            ['Stream', p.stream ?? 'not chosen'],
            ['Academic interests', academic.join(', ') || 'none stated'],
            ['Other interests', hobbies.join(', ') || 'none stated'],
          ],
        ),
      },
      {
        heading: 'Strengths',
        lines: bullets([
          ...academic.map((a) => `Interest in ${a}`),
          ...hobbies.map((h) => `Enjoys ${h}`),
          ...(band === 'excellent' || band === 'strong'
            ? [`${band} marks keep competitive options open`]
            : []),
        ]),
      },
      {
        heading: 'Early fit',
        lines: table(
          ['Path', 'Fit score'],
          top.map((t) => [t.c.path, t.score]),
        ),
      },
      { heading: 'Open questions', lines: numbered(open) },
    ],
    ask.business,
  );
};

const recommendPaths: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const p = profileOf(ask.request, ask.details);
  const ranked = scoreCareers(p).slice(0, 5);
  return markdownResult(
    request,
    'Career paths that fit',
    `${ranked.length} paths, best: ${ranked[0]?.c.path ?? 'none'}`,
    [
      {
        heading: 'Ranked paths',
        lines: table(
          ['#', 'Path', 'Fit', 'Stream', 'Entrance exams', 'Cost', 'Outlook'],
          ranked.map((r, i) => [i + 1, r.c.path, r.score, r.c.stream, r.c.exams, r.c.cost, r.c.outlook]),
        ),
      },
      {
        heading: 'How this was scored',
        lines: bullets([
          `Stream: ${p.stream ?? 'any'} (0.4 for a matching stream, 0.3 for open-to-all paths)`,
          `Interests matched: ${p.interests.filter((i) => CAREERS.some((c) => c.interests.includes(i))).join(', ') || 'none stated'} (60%)`,
          ...(p.excluded ? [`Excluded paths mentioning "${p.excluded}"`] : []),
        ]),
      },
    ],
    ask.business,
  );
};

/** Admission exams: registration and exam month (0-based) in a typical cycle. */
const EXAMS: { exam: string; match: RegExp; regMonth: number; examMonth: number; colleges: string }[] = [
  {
    exam: 'NID DAT',
    match: /\bnid\b/i,
    regMonth: 9,
    examMonth: 11,
    colleges: 'NID Ahmedabad, Bengaluru, Gandhinagar',
  },
  {
    exam: 'UCEED',
    match: /\buceed\b/i,
    regMonth: 9,
    examMonth: 0,
    colleges: 'IIT Bombay, Delhi, Guwahati, Hyderabad (B.Des)',
  },
  {
    exam: 'CEED',
    match: /\bceed\b/i,
    regMonth: 9,
    examMonth: 0,
    colleges: 'IISc, IIT Bombay, Delhi (M.Des)',
  },
  { exam: 'NIFT', match: /\bnift\b/i, regMonth: 10, examMonth: 1, colleges: 'NIFT Delhi, Mumbai, Bengaluru' },
  { exam: 'JEE Main', match: /\bjee\b/i, regMonth: 10, examMonth: 0, colleges: 'NITs, IIITs' },
  {
    exam: 'NEET-UG',
    match: /\bneet\b/i,
    regMonth: 1,
    examMonth: 4,
    colleges: 'AIIMS, govt medical colleges',
  },
  {
    exam: 'CLAT',
    match: /\bclat\b/i,
    regMonth: 6,
    examMonth: 11,
    colleges: 'NLSIU, NALSAR, NLU Delhi (AILET)',
  },
  {
    exam: 'CUET-UG',
    match: /\bcuet\b/i,
    regMonth: 1,
    examMonth: 4,
    colleges: 'Delhi University, central universities',
  },
];

/** The next first-of-month date for a month index, on or after `from`. */
function nextMonth(from: Date, month: number, day = 1): Date {
  const y = from.getUTCFullYear();
  const d = new Date(Date.UTC(y, month, day));
  return d < from ? new Date(Date.UTC(y + 1, month, day)) : d;
}

const planAdmissions: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const chosen = EXAMS.filter((e) => e.match.test(ask.request));
  if (!chosen.length)
    throw new SkillInputError(`name the exams to plan for (${EXAMS.map((e) => e.exam).join(', ')})`);
  const now = request.context.now;
  const rows = chosen
    .map((e) => {
      const reg = nextMonth(now, e.regMonth);
      const exam = nextMonth(reg, e.examMonth);
      const weeks = Math.floor((exam.getTime() - now.getTime()) / (7 * 86_400_000));
      return { e, reg, exam, weeks };
    })
    .sort((a, b) => a.exam.getTime() - b.exam.getTime());
  const milestones = rows
    .flatMap((r) => [
      [addDays(r.reg, -14), `${r.e.exam}: gather documents and photo`],
      [addDays(r.reg, 0), `${r.e.exam}: registration window opens (typical)`],
      [addDays(r.exam, -56), `${r.e.exam}: start full mocks, one a week`],
      [addDays(r.exam, -7), `${r.e.exam}: download admit card, light revision`],
      [addDays(r.exam, 0), `${r.e.exam}: exam (typical month)`],
    ])
    .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  return markdownResult(
    request,
    `Admissions plan: ${chosen.map((e) => e.exam).join(', ')}`,
    `${chosen.length} exam(s), first on ${rows[0]?.exam.toISOString().slice(0, 10)}`,
    [
      {
        heading: 'Exams and colleges',
        lines: table(
          ['Exam', 'Registration opens', 'Exam', 'Weeks to prepare', 'Target colleges'],
          rows.map((r) => [
            r.e.exam,
            r.reg.toISOString().slice(0, 10),
            r.exam.toISOString().slice(0, 10),
            r.weeks,
            r.e.colleges,
          ]),
        ),
      },
      { heading: 'Milestones', lines: table(['Date', 'Milestone'], milestones) },
      {
        heading: 'Note',
        lines: [
          'Dates follow the usual cycle; confirm each on the official exam site when the notice is out.',
        ],
      },
    ],
    ask.business,
  );
};

// ---- study planning -----------------------------------------------------------------------------

const SUBJECTS: [RegExp, string[]][] = [
  [/\bneet\b/i, ['Physics', 'Chemistry', 'Biology']],
  [/\bjee\b/i, ['Physics', 'Chemistry', 'Mathematics']],
  [/class\s*(9|10)\b/i, ['Mathematics', 'Science', 'Social Science', 'English', 'Hindi']],
  [/class\s*(11|12)\b/i, ['Physics', 'Chemistry', 'Mathematics', 'English']],
];

const buildTimetable: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const now = request.context.now;
  const examDate = detailString(ask.details, 'examDate');
  const days = examDate
    ? Math.ceil((Date.parse(examDate) - now.getTime()) / 86_400_000)
    : Number(/(\d+)\s*days/i.exec(ask.request)?.[1] ?? 60);
  if (!(days > 0)) throw new SkillInputError('the exam date must be after today');
  const subjects = detailList(ask.details, 'subjects').length
    ? detailList(ask.details, 'subjects')
    : (SUBJECTS.find(([re]) => re.test(ask.request))?.[1] ?? ['Mathematics', 'Science', 'English']);
  const weak = detailList(ask.details, 'weakSubjects').map((w) => w.toLowerCase());
  const hours =
    detailNumber(ask.details, 'hoursPerDay') ??
    (/\b(college|school) (classes|hours)\b/i.test(ask.request) ? 3 : 5);
  const revisionDays = Math.max(1, Math.round(days * 0.15));
  // Weak subjects get double weight; days cycle through subjects in proportion (largest remaining share first).
  const weights = subjects.map((s) => (weak.includes(s.toLowerCase()) ? 2 : 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const given = subjects.map(() => 0);
  const plan = Array.from({ length: days - revisionDays }, (_, d) => {
    const i = weights
      .map((w, k) => ((d + 1) * w) / total - (given[k] ?? 0))
      .reduce((best, v, k, arr) => (v > (arr[best] ?? -Infinity) ? k : best), 0);
    given[i] = (given[i] ?? 0) + 1;
    return subjects[i] ?? '';
  });
  const shown = Math.min(14, plan.length);
  return markdownResult(
    request,
    `Study timetable: ${days} days`,
    `${days} days, ${subjects.length} subjects, revision from ${addDays(now, days - revisionDays + 1)}`,
    [
      {
        heading: 'Allocation',
        lines: table(
          ['Subject', 'Study days', 'Hours'],
          subjects.map((s, k) => [
            s + (weights[k] === 2 ? ' (weak)' : ''),
            given[k] ?? 0,
            (given[k] ?? 0) * hours,
          ]),
        ),
      },
      {
        heading: `First ${shown} days`,
        lines: table(
          ['Date', 'Main subject', 'Plan'],
          plan
            .slice(0, shown)
            .map((s, d) => [
              addDays(now, d + 1),
              s,
              `${hours - 1}h ${s} + 1h ${d === 0 ? 'syllabus check' : 'recap of yesterday'}${(d + 1) % 7 === 0 ? '; weekly test' : ''}`,
            ]),
        ),
      },
      {
        heading: 'Revision phase',
        lines: bullets([
          `${addDays(now, days - revisionDays + 1)} to ${addDays(now, days)}: ${revisionDays} days of past papers and full revision`,
          `Exam day: ${addDays(now, days)}`,
        ]),
      },
    ],
    ask.business,
  );
};

/** Chapter numbers in text: "chapters 4 and 5", "ch 3, 6-8". */
function chaptersIn(text: string): number[] {
  const m = /chapters?\s+([\d,\sand-]+)/i.exec(text)?.[1] ?? '';
  return [...m.matchAll(/(\d+)\s*-\s*(\d+)|(\d+)/g)].flatMap((x) =>
    x[3]
      ? [Number(x[3])]
      : Array.from({ length: Number(x[2]) - Number(x[1]) + 1 }, (_, i) => Number(x[1]) + i),
  );
}

const trackProgress: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const done = [
    ...new Set([
      ...chaptersIn(ask.request),
      ...(Array.isArray(ask.details.completed)
        ? ask.details.completed.filter((n): n is number => typeof n === 'number')
        : []),
    ]),
  ].sort((a, b) => a - b);
  if (!done.length) throw new SkillInputError('say which chapters you finished, e.g. "chapters 4 and 5"');
  const perWeek = detailNumber(ask.details, 'plannedPerWeek') ?? 3;
  const planned = detailList(ask.details, 'plannedThisWeek')
    .map(Number)
    .filter((n) => n > 0);
  const expected = planned.length ? planned : Array.from({ length: perWeek }, (_, i) => (done[0] ?? 1) + i);
  const missed = expected.filter((c) => !done.includes(c));
  const status = missed.length === 0 ? 'on track' : missed.length === 1 ? 'slightly behind' : 'slipping';
  return markdownResult(
    request,
    `Progress: ${status}`,
    `${done.length}/${expected.length} planned chapters done: ${status}`,
    [
      {
        heading: 'This week',
        lines: table(
          ['Chapter', 'Planned', 'Done'],
          [...new Set([...expected, ...done])]
            .sort((a, b) => a - b)
            .map((c) => [c, expected.includes(c) ? 'yes' : 'extra', done.includes(c) ? 'yes' : 'no']),
        ),
      },
      {
        heading: 'Verdict',
        lines: bullets([
          `Completed ${pct(done.filter((c) => expected.includes(c)).length, expected.length)}% of the plan (${perWeek} chapters a week).`,
          missed.length
            ? `Carry chapter(s) ${missed.join(', ')} into next week, one extra session each.`
            : 'Keep the pace; add one revision session for the finished chapters.',
        ]),
      },
    ],
    ask.business,
  );
};

const replanWeek: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const lost =
    detailNumber(ask.details, 'missedDays') ?? Number(/(\d+)\s*days?/i.exec(ask.request)?.[1] ?? 1);
  const perDay = detailNumber(ask.details, 'sessionsPerDay') ?? 3;
  const cap = perDay + 1; // at most one extra session a day: no cramming
  const subjects = detailList(ask.details, 'subjects').length
    ? detailList(ask.details, 'subjects')
    : ['Mathematics', 'Science', 'English'];
  let backlog = lost * perDay;
  const now = request.context.now;
  const week = Array.from({ length: 7 }, (_, d) => {
    const revision = d === 6;
    const catchUp = revision ? 0 : Math.min(cap - perDay, backlog);
    backlog -= catchUp;
    return [
      addDays(now, d + 1),
      revision ? 'revision + weekly test' : `${perDay} planned`,
      catchUp ? `${catchUp} catch-up (${subjects[d % subjects.length]})` : '-',
    ];
  });
  return markdownResult(
    request,
    'Re-planned week',
    `${lost * perDay - backlog} of ${lost * perDay} missed sessions recovered this week, ${backlog} carried over`,
    [
      { heading: 'Next 7 days', lines: table(['Date', 'Sessions', 'Catch-up'], week) },
      {
        heading: 'Rules used',
        lines: bullets([
          `Missed: ${lost} day(s) x ${perDay} sessions = ${lost * perDay}`,
          `At most ${cap} sessions a day`,
          'Day 7 stays revision only',
          backlog ? `${backlog} session(s) move to the following week` : 'Backlog cleared this week',
        ]),
      },
    ],
    ask.business,
  );
};

// ---- test prep ----------------------------------------------------------------------------------

const PATTERNS: { exam: string; match: RegExp; minutes: number; sections: [string, number][] }[] = [
  {
    exam: 'CAT',
    match: /\bcat\b/i,
    minutes: 120,
    sections: [
      ['VARC', 24],
      ['DILR', 22],
      ['QA', 22],
    ],
  },
  {
    exam: 'IBPS PO Prelims',
    match: /\bibps\b/i,
    minutes: 60,
    sections: [
      ['English', 30],
      ['Quantitative Aptitude', 35],
      ['Reasoning', 35],
    ],
  },
  {
    exam: 'GATE CS',
    match: /\bgate\b/i,
    minutes: 180,
    sections: [
      ['General Aptitude', 10],
      ['Computer Science', 55],
    ],
  },
  {
    exam: 'JEE Main',
    match: /\bjee\b/i,
    minutes: 180,
    sections: [
      ['Physics', 25],
      ['Chemistry', 25],
      ['Mathematics', 25],
    ],
  },
  {
    exam: 'NEET-UG',
    match: /\bneet\b/i,
    minutes: 200,
    sections: [
      ['Physics', 50],
      ['Chemistry', 50],
      ['Biology', 100],
    ],
  },
];
const patternOf = (text: string) => PATTERNS.find((p) => p.match.test(text));

/** One arithmetic aptitude item with its answer, generated from the seed. */
function quantItem(r: () => number): { q: string; a: string } {
  const kind = intIn(r, 0, 3);
  const a = intIn(r, 12, 96);
  const b = intIn(r, 5, 40);
  if (kind === 0) return { q: `What is ${b}% of ${a * 10}?`, a: String(round((b * a * 10) / 100, 2)) };
  if (kind === 1)
    return {
      q: `A train covers ${a * 5} km in ${(b % 8) + 2} hours. Its speed in km/h?`,
      a: String(round((a * 5) / ((b % 8) + 2), 2)),
    };
  if (kind === 2)
    return {
      q: `Simple interest on INR ${a * 1000} at ${(b % 12) + 4}% a year for 3 years?`,
      a: String(round((a * 1000 * ((b % 12) + 4) * 3) / 100)),
    };
  return { q: `Ratio ${a}:${b} scaled so the first term is ${a * 3}; the second term?`, a: String(b * 3) };
}

const diagnoseLevel: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const p = patternOf(ask.request);
  if (!p) throw new SkillInputError(`name the exam (${PATTERNS.map((x) => x.exam).join(', ')})`);
  const target = Number(
    /(\d{2}(?:\.\d+)?)\s*(?:percentile|%ile)/i.exec(ask.request)?.[1] ??
      /\bcat\s*(\d{2})\b/i.exec(ask.request)?.[1] ??
      90,
  );
  const scores = (ask.details.scores ?? {}) as Record<string, unknown>;
  const needed = round(Math.min(95, 35 + (target - 50) * 0.9), 0); // % accuracy per section a target percentile needs
  const rows = p.sections.map(([s]) => {
    const got = num(scores, s);
    return [
      s,
      got === undefined ? 'take diagnostic' : `${got}%`,
      `${needed}%`,
      got === undefined ? '-' : got >= needed ? 'ready' : got >= needed - 15 ? 'close' : 'foundation',
    ];
  });
  const r = seeded(ask.request);
  const items = Array.from({ length: 5 }, () => quantItem(r));
  return markdownResult(
    request,
    `${p.exam} level check`,
    `target ${target} percentile needs about ${needed}% per section`,
    [
      { heading: 'Level by section', lines: table(['Section', 'Your score', 'Needed', 'Level'], rows) },
      { heading: 'Five-question diagnostic', lines: numbered(items.map((i) => i.q)) },
      { heading: 'Answer key', lines: numbered(items.map((i) => i.a)) },
      {
        heading: 'Next step',
        lines: [
          'Send your section scores as details.scores ({ "QA": 62 }) and I will grade each section against the target.',
        ],
      },
    ],
    ask.business,
  );
};

const generateMock: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const p = patternOf(ask.request);
  if (!p) throw new SkillInputError(`name the exam (${PATTERNS.map((x) => x.exam).join(', ')})`);
  const sectional = /\bsectional\b/i.test(ask.request);
  const topic = /\bon ([a-z ]+)$/i.exec(ask.request)?.[1]?.trim();
  const sections = sectional
    ? p.sections.slice(-1).map(([s, n]): [string, number] => [topic ? titleCase(topic) : s, n])
    : p.sections;
  const total = p.sections.reduce((s, [, n]) => s + n, 0);
  const minutes = sectional ? Math.round((p.minutes * (sections[0]?.[1] ?? 0)) / total) : p.minutes;
  const r = seeded(ask.request);
  const items = Array.from({ length: Math.min(10, countOf(ask.request, ['questions'], 10)) }, () =>
    quantItem(r),
  );
  return markdownResult(
    request,
    `${p.exam} ${sectional ? 'sectional' : 'full'} mock`,
    `${sections.reduce((s, [, n]) => s + n, 0)} questions in ${minutes} minutes`,
    [
      {
        heading: 'Pattern',
        lines: table(
          ['Section', 'Questions', 'Suggested minutes'],
          sections.map(([s, n]) => [
            s,
            n,
            Math.round((minutes * n) / sections.reduce((a, [, k]) => a + k, 0)),
          ]),
        ),
      },
      { heading: 'Sample numerical aptitude set', lines: numbered(items.map((i) => i.q)) },
      { heading: 'Answer key', lines: numbered(items.map((i) => i.a)) },
    ],
    ask.business,
  );
};

const reviewAttempt: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const attempt = detailRecords(ask.details, 'attempt');
  if (!attempt.length)
    return markdownResult(
      request,
      'Mock review: waiting for the attempt',
      `no attempt data in: ${ask.request}`,
      [
        {
          heading: 'What I need',
          lines: [
            'details.attempt: a list of { q, topic, correct (true/false), seconds } for each question of the mock.',
          ],
        },
        {
          heading: 'How mistakes are classified',
          lines: bullets([
            'silly: wrong in under half the average time',
            'time: wrong after more than 1.5x the average time',
            'concept: every other wrong answer',
          ]),
        },
      ],
      ask.business,
    );
  const avg = attempt.reduce((s, a) => s + (num(a, 'seconds') ?? 0), 0) / attempt.length;
  const rows = attempt.map((a, i) => {
    const secs = num(a, 'seconds') ?? avg;
    const kind =
      a.correct === true ? 'correct' : secs < avg / 2 ? 'silly' : secs > avg * 1.5 ? 'time' : 'concept';
    return { q: str(a, 'q') || String(i + 1), topic: str(a, 'topic') || 'general', secs, kind };
  });
  const count = (k: string) => rows.filter((r) => r.kind === k).length;
  const weakTopics = [...new Set(rows.filter((r) => r.kind === 'concept').map((r) => r.topic))];
  return markdownResult(
    request,
    `Mock review: ${count('correct')}/${rows.length}`,
    `${count('correct')}/${rows.length} correct; ${count('concept')} concept, ${count('silly')} silly, ${count('time')} time`,
    [
      {
        heading: 'Question by question',
        lines: table(
          ['Q', 'Topic', 'Seconds', 'Result'],
          rows.map((r) => [r.q, r.topic, round(r.secs, 0), r.kind]),
        ),
      },
      {
        heading: 'Revision plan update',
        lines: bullets([
          ...weakTopics.map((t) => `Re-learn ${t}: one concept session and 10 practice questions`),
          ...(count('silly') ? ['Add a 2-minute answer re-check before moving on'] : []),
          ...(count('time') ? [`Skip any question past ${Math.round(avg * 1.5)}s on the first pass`] : []),
        ]),
      },
    ],
    ask.business,
  );
};

// ---- tutoring -----------------------------------------------------------------------------------

const CONCEPTS: { concept: string; keys: string[]; idea: string; example: string; check: string }[] = [
  {
    concept: 'Refraction of light',
    keys: ['refraction', 'bend', 'lens', 'light'],
    idea: 'Light changes speed when it passes from one medium to another, so it bends at the boundary; n = sin i / sin r.',
    example: 'A straw in a glass of water looks broken at the surface.',
    check: 'Light goes from air into glass: does it bend towards or away from the normal?',
  },
  {
    concept: 'Density and floating',
    keys: ['float', 'ice', 'density', 'buoyancy', 'sink'],
    idea: 'An object floats when its density is less than the liquid; ice (0.92 g/cm3) is less dense than water because its molecules lock into an open lattice.',
    example: 'Ice cubes float in a glass of water and lakes freeze from the top.',
    check: 'Would ice float in alcohol (density 0.79 g/cm3)?',
  },
  {
    concept: 'Photosynthesis',
    keys: ['photosynthesis', 'plant', 'chlorophyll', 'leaf'],
    idea: 'Green plants use sunlight, water and CO2 to make glucose and oxygen: 6CO2 + 6H2O -> C6H12O6 + 6O2.',
    example: 'A potted plant kept in the dark turns pale.',
    check: 'Which gas do leaves release in sunlight?',
  },
  {
    concept: "Ohm's law",
    keys: ['ohm', 'current', 'resistance', 'voltage', 'electricity'],
    idea: 'Current through a conductor is proportional to the voltage across it: V = I x R.',
    example: 'A phone charger limits current so the battery is not damaged.',
    check: 'If V = 12 V and R = 4 ohm, what is I?',
  },
  {
    concept: 'Motion and acceleration',
    keys: ['motion', 'acceleration', 'velocity', 'speed'],
    idea: 'Acceleration is the rate of change of velocity: a = (v - u) / t.',
    example: 'An auto-rickshaw speeding up from a signal.',
    check: 'A bike goes from 0 to 20 m/s in 5 s. Its acceleration?',
  },
  {
    concept: 'Acids and bases',
    keys: ['acid', 'base', 'ph', 'alkali', 'neutralisation'],
    idea: 'Acids give H+ ions in water (pH < 7), bases give OH- ions (pH > 7); together they neutralise into salt and water.',
    example: 'Antacid tablets neutralise excess stomach acid.',
    check: 'Is soap solution acidic or basic?',
  },
];

const explainConcept: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const words = contentWords(ask.request);
  const best = CONCEPTS.map((c) => ({ c, s: overlap(c.keys, words) })).sort((a, b) => b.s - a.s)[0];
  const cls = Number(/class\s*(\d{1,2})/i.exec(ask.request)?.[1] ?? 0) || undefined;
  if (!best || best.s === 0)
    return markdownResult(
      request,
      'Concept not in my notes yet',
      `no matching concept for: ${ask.request}`,
      [{ heading: 'Concepts I can explain', lines: bullets(CONCEPTS.map((c) => c.concept)) }],
      ask.business,
    );
  const { c } = best;
  return markdownResult(
    request,
    `${c.concept}${cls ? ` (Class ${cls})` : ''}`,
    `${c.concept} explained with an everyday example`,
    [
      { heading: 'The idea', lines: [cls && cls <= 8 ? c.idea.split(';')[0] + '.' : c.idea] },
      { heading: 'Everyday example', lines: [c.example] },
      { heading: 'Quick check', lines: [c.check] },
    ],
    ask.business,
  );
};

const NCERT_CHAPTERS: Record<string, string[]> = {
  '12 chemistry': [
    'Solutions',
    'Electrochemistry',
    'Chemical Kinetics',
    'The d- and f-Block Elements',
    'Coordination Compounds',
  ],
  '12 physics': [
    'Electric Charges and Fields',
    'Electrostatic Potential and Capacitance',
    'Current Electricity',
    'Moving Charges and Magnetism',
  ],
  '10 science': [
    'Chemical Reactions and Equations',
    'Acids, Bases and Salts',
    'Metals and Non-metals',
    'Carbon and its Compounds',
    'Life Processes',
  ],
  '9 science': [
    'Matter in Our Surroundings',
    'Is Matter Around Us Pure',
    'Atoms and Molecules',
    'Structure of the Atom',
    'The Fundamental Unit of Life',
    'Tissues',
    'Motion',
  ],
};

const answerNcert: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const cls = /class\s*(\d{1,2})/i.exec(ask.request)?.[1];
  const subject = /\b(chemistry|physics|biology|science)\b/i.exec(ask.request)?.[1]?.toLowerCase();
  const chapter = Number(/chapter\s*(\d+)/i.exec(ask.request)?.[1] ?? 0);
  const qno = /question\s*([\d.]+)/i.exec(ask.request)?.[1];
  const question = quoted(ask.request) ?? detailString(ask.details, 'question');
  const marks =
    detailNumber(ask.details, 'marks') ??
    (question
      ? /\b(explain|describe|derive)\b/i.test(question)
        ? 3
        : /\b(define|name|what is)\b/i.test(question)
          ? 1
          : 2
      : 3);
  const words = { 1: 30, 2: 50, 3: 80, 5: 150 }[marks] ?? 80;
  const chapterName = NCERT_CHAPTERS[`${cls} ${subject}`]?.[chapter - 1];
  return markdownResult(
    request,
    `NCERT Class ${cls ?? '?'} ${titleCase(subject ?? 'science')}${chapter ? `, Ch ${chapter}` : ''}${qno ? `, Q ${qno}` : ''}`,
    `${marks}-mark answer plan, about ${words} words${chapterName ? ` (${chapterName})` : ''}`,
    [
      {
        heading: 'Question',
        lines: [
          question ??
            `NCERT question ${qno ?? '?'}${chapterName ? ` from "${chapterName}"` : ''}. Paste its text in quotes (or details.question) for a full worked answer.`,
        ],
      },
      {
        heading: 'Examiner format',
        lines: table(
          ['Item', 'Expectation'],
          [
            ['Marks', marks],
            ['Length', `about ${words} words`],
            [
              'Structure',
              marks >= 3
                ? 'definition, formula/diagram, working with units, final statement'
                : 'direct answer with one key term',
            ],
            ['Keywords', chapterName ?? 'from the chapter summary'],
          ],
        ),
      },
      {
        heading: 'Marking points',
        lines: numbered(
          marks >= 3
            ? [
                'State the law or definition used',
                'Write the formula with symbols defined',
                'Substitute values with units at every step',
                'Box the final answer with units',
              ]
            : ['Write the exact NCERT term', 'Add one supporting fact'],
        ),
      },
    ],
    ask.business,
  );
};

const WORKSHEET_TOPICS: {
  topic: string;
  match: RegExp;
  make: (r: () => number) => { q: string; a: string };
}[] = [
  {
    topic: 'Motion',
    match: /\bmotion\b/i,
    make: (r) => {
      const u = intIn(r, 0, 10);
      const a = intIn(r, 1, 5);
      const t = intIn(r, 2, 10);
      return {
        q: `A body starts at ${u} m/s and accelerates at ${a} m/s^2 for ${t} s. Find its final velocity.`,
        a: `v = u + at = ${u + a * t} m/s`,
      };
    },
  },
  {
    topic: 'Force and laws of motion',
    match: /\bforce|newton\b/i,
    make: (r) => {
      const m = intIn(r, 2, 50);
      const a = intIn(r, 1, 10);
      return { q: `Find the force needed to accelerate ${m} kg at ${a} m/s^2.`, a: `F = ma = ${m * a} N` };
    },
  },
  {
    topic: 'Electricity',
    match: /\belectric|current|ohm\b/i,
    make: (r) => {
      const i = intIn(r, 1, 5);
      const res = intIn(r, 2, 20);
      return {
        q: `A ${res} ohm resistor carries ${i} A. Find the voltage across it.`,
        a: `V = IR = ${i * res} V`,
      };
    },
  },
  {
    topic: 'Work and energy',
    match: /\bwork|energy\b/i,
    make: (r) => {
      const m = intIn(r, 1, 20);
      const v = intIn(r, 2, 12);
      return {
        q: `Find the kinetic energy of ${m} kg moving at ${v} m/s.`,
        a: `KE = mv^2/2 = ${(m * v * v) / 2} J`,
      };
    },
  },
];
const ASSERTIONS: [string, string, string][] = [
  [
    'Uniform circular motion is accelerated motion.',
    'The direction of velocity changes continuously.',
    'A (both true, R explains A)',
  ],
  [
    'Displacement can be zero when distance is not.',
    'Displacement depends only on initial and final positions.',
    'A (both true, R explains A)',
  ],
  [
    'A heavier body falls faster in vacuum.',
    'Acceleration due to gravity is the same for all bodies.',
    'D (A false, R true)',
  ],
];

const createWorksheet: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const t = WORKSHEET_TOPICS.find((w) => w.match.test(ask.request)) ?? WORKSHEET_TOPICS[0];
  if (!t) throw new SkillInputError('no worksheet topics');
  const n = countOf(ask.request, ['questions', 'qs', 'items'], 10, 50);
  const r = seeded(ask.request);
  const items = Array.from({ length: n }, (_, i) => {
    const kind = i % 5 === 3 ? 'ar' : i % 5 === 4 ? 'short' : 'mcq';
    if (kind === 'ar') {
      const [a, rr, key] = pick(r, ASSERTIONS);
      return { q: `Assertion (A): ${a} Reason (R): ${rr}`, a: key };
    }
    const item = t.make(r);
    if (kind === 'short') return item;
    const value = Number(/= (-?[\d.]+)/.exec(item.a)?.[1] ?? 0);
    const step = intIn(r, 1, Math.max(1, Math.min(4, Math.floor(value) - 1)));
    // The answer's place varies (seeded), with every option kept above zero.
    const place = intIn(r, 0, Math.max(0, Math.min(3, Math.ceil(value / step) - 1)));
    const options = [0, 1, 2, 3].map((j) => value + (j - place) * step);
    return {
      q: `${item.q} (a) ${options[0]} (b) ${options[1]} (c) ${options[2]} (d) ${options[3]}`,
      a: `(${'abcd'[options.indexOf(value)]}) ${item.a}`,
    };
  });
  return markdownResult(
    request,
    `Worksheet: ${t.topic} (${n} questions)`,
    `${n} questions on ${t.topic} with answer key`,
    [
      { heading: 'Questions', lines: numbered(items.map((i) => i.q)) },
      { heading: 'Answer key', lines: numbered(items.map((i) => i.a)) },
    ],
    ask.business,
  );
};

// ---- spoken English -----------------------------------------------------------------------------

const ENGLISH_RULES: { re: RegExp; fix: string; why: string }[] = [
  {
    re: /\b(am|is|are) having (\w+ )?(brothers?|sisters?|cars?|house|friends?|idea|doubt)/gi,
    fix: 'have $2$3',
    why: '"have" for possession is not used in the -ing form',
  },
  { re: /\bI am knowing\b/gi, fix: 'I know', why: '"know" is a state verb: no -ing form' },
  { re: /\bdo the needful\b/gi, fix: 'do what is needed', why: 'an old-fashioned phrase; say what you need' },
  { re: /\brevert back\b/gi, fix: 'reply', why: '"revert" means go back; for answers use "reply"' },
  { re: /\bdiscuss about\b/gi, fix: 'discuss', why: '"discuss" takes no "about"' },
  {
    re: /\bsince (\d+|two|three|four|five|many) (days|weeks|months|years)\b/gi,
    fix: 'for $1 $2',
    why: '"for" with a length of time, "since" with a starting point',
  },
  {
    re: /\bone of my (friend|brother|colleague|teacher)\b/gi,
    fix: 'one of my $1s',
    why: '"one of" takes a plural noun',
  },
  { re: /\bcousin (brother|sister)\b/gi, fix: 'cousin', why: '"cousin" already covers both' },
  {
    re: /(?<=^|[.!?]\s+)[Mm]yself (\w+)/g,
    fix: 'I am $1',
    why: 'introduce yourself with "I am" or "My name is"',
  },
  { re: /\breturn back\b/gi, fix: 'return', why: '"return" already means go back' },
  { re: /\bout of station\b/gi, fix: 'out of town', why: '"out of station" is Indian usage' },
  { re: /\bprepone\b/gi, fix: 'bring forward', why: '"prepone" is understood only in India' },
  { re: /\bkindly\b/gi, fix: 'please', why: '"please" sounds more natural in emails' },
];

function correctText(text: string): { corrected: string; fixes: string[][] } {
  const fixes: string[][] = [];
  let corrected = text;
  for (const rule of ENGLISH_RULES)
    corrected = corrected.replace(rule.re, (...m: unknown[]) => {
      const replaced = String(m[0]).replace(new RegExp(rule.re.source, 'i'), rule.fix);
      const fixed = /^[A-Z]/.test(String(m[0]))
        ? replaced.charAt(0).toUpperCase() + replaced.slice(1)
        : replaced;
      fixes.push([String(m[0]), fixed, rule.why]);
      return fixed;
    });
  return { corrected, fixes };
}

const correctWriting: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const text =
    detailString(ask.details, 'text') ??
    quoted(ask.request) ??
    (ask.request.includes(':') ? ask.request.slice(ask.request.indexOf(':') + 1).trim() : ask.request);
  const { corrected, fixes } = correctText(text);
  return markdownResult(
    request,
    `Writing check: ${fixes.length} fix(es)`,
    fixes.length
      ? `${fixes.length} fix(es): ${fixes.map((f) => f[1]).join('; ')}`
      : `no common errors found in "${text.slice(0, 40)}"`,
    [
      {
        heading: 'Fixes',
        lines: fixes.length
          ? table(['You wrote', 'Better', 'Why'], fixes)
          : [
              'No common Indian-English patterns found. Send the full text in details.text for a longer check.',
            ],
      },
      {
        heading: 'Natural version',
        lines: [
          fixes.length || text !== ask.request
            ? corrected
            : 'Paste the text after a colon, in quotes or as details.text.',
        ],
      },
    ],
    ask.business,
  );
};

const ROLE_PLAYS: { match: RegExp; role: string; turns: string[] }[] = [
  {
    match: /\binterview\b/i,
    role: 'interviewer',
    turns: [
      'Tell me about yourself.',
      'Why do you want this role?',
      'Describe a time you handled an upset customer.',
      'What is your biggest weakness?',
      'Do you have any questions for us?',
    ],
  },
  {
    match: /\b(shop|store|buy)\b/i,
    role: 'shopkeeper',
    turns: [
      'Good morning, how can I help?',
      'Which size do you need?',
      'Would you like to pay by card or UPI?',
    ],
  },
  {
    match: /\b(phone|call|customer)\b/i,
    role: 'caller',
    turns: [
      'Hello, I have a problem with my order.',
      'It was supposed to arrive yesterday.',
      'Can you give me a refund?',
    ],
  },
];
const FILLERS = /\b(basically|actually|like|umm?|you know)\b/gi;

const practiceConversation: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const play = ROLE_PLAYS.find((p) => p.match.test(ask.request)) ?? {
    role: 'friend',
    turns: [
      'What did you do last weekend?',
      'What are your plans for next month?',
      'Tell me about your favourite food.',
    ],
  };
  const answer = detailString(ask.details, 'answer');
  const role = /\bfor an? ([a-z ]+?) role\b/i.exec(ask.request)?.[1];
  const feedback = answer
    ? (() => {
        const words = answer.split(/\s+/).length;
        const sentences = Math.max(1, answer.split(/[.!?]+/).filter((s) => s.trim()).length);
        const fillers = (answer.match(FILLERS) ?? []).length;
        const { fixes } = correctText(answer);
        return table(
          ['Measure', 'Result'],
          [
            ['Words per sentence', round(words / sentences, 1)],
            ['Filler words', fillers],
            ['Grammar fixes', fixes.map((f) => `${f[0]} -> ${f[1]}`).join('; ') || 'none'],
          ],
        );
      })()
    : [
        'Reply to the first question (send it as details.answer) and I will score fluency, fillers and grammar.',
      ];
  return markdownResult(
    request,
    `Role-play: ${play.role}${role ? ` (${role})` : ''}`,
    `${play.turns.length}-turn ${play.role} role-play`,
    [
      {
        heading: 'Script',
        lines: numbered(
          play.turns.map(
            (t) =>
              `${titleCase(play.role)}: ${t.replace('this role', role ? `the ${role} role` : 'this role')}`,
          ),
        ),
      },
      { heading: 'Feedback', lines: feedback },
    ],
    ask.business,
  );
};

const WORD_BANKS: { theme: string; match: RegExp; words: [string, string, string][] }[] = [
  {
    theme: 'office emails',
    match: /\b(office|email|mail|work)\b/i,
    words: [
      ['follow up', 'check again on something', 'I am following up on my last email.'],
      ['attached', 'sent with this email', 'The report is attached.'],
      ['at your convenience', 'when it suits you', 'Please reply at your convenience.'],
      ['deadline', 'last date', 'The deadline is Friday.'],
      ['clarify', 'make clear', 'Could you clarify the second point?'],
      ['reschedule', 'move to another time', 'Can we reschedule the call?'],
      ['acknowledge', 'confirm you received', 'Please acknowledge this email.'],
      ['pending', 'not yet done', 'Two approvals are pending.'],
      ['regards', 'a polite sign-off', 'Best regards, Priya'],
      ['update', 'new information', 'Here is a quick update.'],
      ['agenda', 'list of topics', 'I have shared the agenda.'],
      ['loop in', 'add someone to the thread', 'Looping in Ravi from finance.'],
      ['prioritise', 'do first', 'Let us prioritise the client fix.'],
      ['feedback', 'comments to improve', 'Thanks for the feedback.'],
      ['approve', 'say yes officially', 'Please approve the leave.'],
      ['escalate', 'pass to a senior', 'I will escalate the issue.'],
      ['draft', 'first version', 'Sharing a draft for review.'],
      ['confirm', 'say it is certain', 'Please confirm the time.'],
      ['availability', 'free time', 'Share your availability.'],
      ['outstanding', 'still to be done or paid', 'The outstanding invoice is attached.'],
    ],
  },
  {
    theme: 'interviews',
    match: /\binterview|job\b/i,
    words: [
      ['strength', 'what you do well', 'My strength is problem-solving.'],
      ['initiative', 'acting without being told', 'I took the initiative to fix it.'],
      ['collaborate', 'work together', 'I collaborate with the sales team.'],
      ['achieve', 'reach a goal', 'We achieved the target early.'],
      ['responsible for', 'in charge of', 'I was responsible for billing.'],
      ['adapt', 'change to fit', 'I adapt quickly to new tools.'],
    ],
  },
  {
    theme: 'travel',
    match: /\btravel|trip|airport\b/i,
    words: [
      ['itinerary', 'travel plan', 'Here is my itinerary.'],
      ['boarding pass', 'ticket to board', 'Show your boarding pass.'],
      ['delayed', 'late', 'The flight is delayed.'],
      ['check in', 'register arrival', 'We check in at noon.'],
      ['luggage', 'bags', 'My luggage is lost.'],
    ],
  },
];
const REVIEW_DAYS = [1, 3, 7, 14, 30];

const buildVocabulary: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const bank = WORD_BANKS.find((b) => b.match.test(ask.request)) ?? WORD_BANKS[0];
  if (!bank) throw new SkillInputError('no word banks');
  const n = Math.min(bank.words.length, Math.max(1, Number(/\b(\d+)\b/.exec(ask.request)?.[1] ?? 10)));
  const start = hash(ask.request) % bank.words.length;
  const words = Array.from(
    { length: n },
    (_, i) => bank.words[(start + i) % bank.words.length] as [string, string, string],
  );
  return markdownResult(
    request,
    `Vocabulary: ${bank.theme} (${n} words)`,
    `${n} ${bank.theme} words with ${REVIEW_DAYS.length} review dates`,
    [
      { heading: 'Word list', lines: table(['Word', 'Meaning', 'Example'], words) },
      {
        heading: 'Review schedule',
        lines: table(
          ['Review', 'Date', 'Words'],
          REVIEW_DAYS.map((d, i) => [
            i + 1,
            addDays(request.context.now, d),
            d === 1 ? 'all' : 'the ones you missed last time',
          ]),
        ),
      },
    ],
    ask.business,
  );
};

export const educationCapabilities: Record<string, CapabilityImpl> = {
  'career.assess-profile': assessProfile,
  'career.recommend-paths': recommendPaths,
  'career.plan-admissions': planAdmissions,
  'planning.build-timetable': buildTimetable,
  'planning.track-progress': trackProgress,
  'planning.replan-week': replanWeek,
  'testprep.diagnose-level': diagnoseLevel,
  'testprep.generate-mock': generateMock,
  'testprep.review-attempt': reviewAttempt,
  'tutoring.explain-concept': explainConcept,
  'tutoring.answer-ncert': answerNcert,
  'assessment.create-worksheet': createWorksheet,
  'language.correct-writing': correctWriting,
  'language.practice-conversation': practiceConversation,
  'language.build-vocabulary': buildVocabulary,
};
