/* eslint-disable @typescript-eslint/restrict-template-expressions -- Fraction defines toString() for display */
import { mulberry32 } from '@waooaw/shared';
import type { SkillResult } from '../types';
import { SkillInputError } from '../types';
import { countOf } from './kit/numbers';
import type { Block } from './kit/render';
import { bullets, markdownResult, numbered, table } from './kit/render';
import type { CapabilityImpl } from './kit/request';
import { askOf, detailRecords, detailString, str } from './kit/request';
import { hash } from './kit/text';
import { MathError, areaBetween, evaluate, parse, show, solveEquation } from './math-engine';

/** Rewrites word forms ("add 3/4 and 2/3", "7 times 8") into symbols, so plain-English asks are solved too. */
export function wordsToSymbols(text: string): string {
  return text
    .replace(/\badd\s+(.+?)\s+(?:and|to)\s+(.+?)(?=[?.]?$|[?.]\s)/gi, '$1 + $2')
    .replace(/\bsubtract\s+(.+?)\s+from\s+(.+?)(?=[?.]?$|[?.]\s)/gi, '$2 - $1')
    .replace(/\bmultiply\s+(.+?)\s+(?:by|and)\s+(.+?)(?=[?.]?$|[?.]\s)/gi, '$1 * $2')
    .replace(/\bdivide\s+(.+?)\s+by\s+(.+?)(?=[?.]?$|[?.]\s)/gi, '$1 / $2')
    .replace(/\bplus\b/gi, '+')
    .replace(/\bminus\b/gi, '-')
    .replace(/\b(?:times|multiplied by)\b/gi, '*')
    .replace(/\bdivided by\b/gi, '/')
    .replace(/\bsquared\b/gi, '^2');
}

/** The longest run of mathematical text in a sentence (digits, operators, single-letter variables). */
export function extractMath(text: string): string | undefined {
  const src = wordsToSymbols(text);
  const isMath = (i: number): boolean => {
    const ch = src[i]!;
    if (/[\d+\-*/^()×÷=.\s−]/.test(ch)) return true;
    if (/[a-z]/i.test(ch)) return !/[a-z]/i.test(src[i - 1] ?? ' ') && !/[a-z]/i.test(src[i + 1] ?? ' ');
    return false;
  };
  const runs: string[] = [];
  let cur = '';
  for (let i = 0; i < src.length; i++) {
    if (isMath(i)) cur += src[i];
    else {
      runs.push(cur);
      cur = '';
    }
  }
  runs.push(cur);
  const candidates = runs
    .map((r) => r.replace(/^[\s.=]+|[\s.=?]+$/g, '').replace(/^[a-z]\s+(?=\d)/i, ''))
    .filter((r) => /\d/.test(r) && /[+\-*/^×÷=]/.test(r.replace(/^-/, '')));
  return candidates.sort((a, b) => b.length - a.length)[0];
}

export interface Worked {
  problem: string;
  answer: string;
  steps: string[];
  check: string[];
}

const lcm = (a: bigint, b: bigint): bigint => {
  let [x, y] = [a, b];
  while (y) [x, y] = [y, x % y];
  return (a / x) * b;
};

/** Extra explanation for "a/b ± c/d": the common denominator step students are taught. */
function fractionSumSteps(problem: string): string[] {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*([+-])\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(problem);
  if (!m) return [];
  const [a, b, op, c, d] = [BigInt(m[1]!), BigInt(m[2]!), m[3]!, BigInt(m[4]!), BigInt(m[5]!)];
  const l = lcm(b, d);
  const [na, nc] = [a * (l / b), c * (l / d)];
  return [
    `The denominators are ${b} and ${d}; their least common multiple is ${l}`,
    `Rewrite: ${a}/${b} = ${na}/${l} and ${c}/${d} = ${nc}/${l}`,
    `${op === '+' ? 'Add' : 'Subtract'} the numerators: ${na} ${op} ${nc} = ${op === '+' ? na + nc : na - nc}, over ${l}`,
  ];
}

/**
 * Works a maths problem exactly: enclosed area between two curves, an equation (linear or quadratic),
 * or an arithmetic expression with precedence and parentheses. Returns undefined when the text holds
 * no maths it can read, so callers decide how to answer.
 */
export function workProblem(text: string): Worked | undefined {
  const area = /area\b.*?\by\s*=\s*(.+?)\s+and\s+y\s*=\s*(.+?)\s*(?:[?,;]|\.\s|\.?$)/i.exec(text);
  if (area) {
    const r = areaBetween(area[1]!, area[2]!);
    return {
      problem: `Area enclosed by y = ${area[1]} and y = ${area[2]}`,
      answer: `${r.area.describe()} square units`,
      steps: r.steps,
      check: [
        `Between x = ${r.from} and x = ${r.to} one curve stays above the other, so one integral gives the area`,
      ],
    };
  }
  const math = extractMath(text);
  if (!math) return undefined;
  if (math.includes('=')) {
    const s = solveEquation(math);
    const answer =
      s.kind === 'identity'
        ? `every value of ${s.variable} works`
        : s.kind === 'contradiction'
          ? 'no solution'
          : s.roots.length
            ? s.roots.map((r) => `${s.variable} = ${r.describe()}`).join(' or ')
            : s.irrational.map((r) => `${s.variable} = ${r.exact} (about ${r.approx})`).join(' or ');
    return { problem: math, answer, steps: s.steps, check: s.check };
  }
  const steps: string[] = [];
  const expr = parse(math);
  const value = evaluate(expr, steps);
  return {
    problem: show(expr),
    answer: value.describe(),
    steps: [...fractionSumSteps(math), ...steps.map((s, i) => `Step ${i + 1}: ${s}`)],
    check: [`Brackets first, then powers, then × and ÷ left to right, then + and - left to right`],
  };
}

/** Tries workProblem and turns maths errors into a readable note instead of a failure. */
function tryWork(text: string): { worked?: Worked; problem?: string } {
  try {
    const worked = workProblem(text);
    return worked ? { worked } : {};
  } catch (e) {
    if (e instanceof MathError) return { problem: e.message };
    throw e;
  }
}

function workedBlocks(worked: Worked): Block[] {
  return [
    { heading: 'Problem', lines: [worked.problem] },
    { heading: 'Step-by-step solution', lines: numbered(worked.steps) },
    { heading: 'Answer', lines: [`**${worked.answer}**`] },
    { heading: 'Check', lines: bullets(worked.check) },
  ];
}

function unreadBlocks(text: string, note?: string): Block[] {
  return [
    { heading: 'What I read', lines: bullets([text, ...(note ? [`Could not solve it: ${note}`] : [])]) },
    {
      heading: 'How to send it',
      lines: bullets([
        'An equation with one variable, e.g. "Solve 3x + 5 = 20" or "x^2 - 5x + 6 = 0"',
        'An expression, e.g. "12 * (3 + 4) - 5" or "add 3/4 and 2/3"',
        'An area between curves, e.g. "area bounded by y = x^2 and y = 2x"',
        'Or put it in details.equation / details.expression',
      ]),
    },
  ];
}

/** tutoring.solve-problem and homework.explain-solution: a worked, checked solution of the maths asked. */
export const solveProblem: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const text =
    detailString(ask.details, 'equation') ?? detailString(ask.details, 'expression') ?? ask.request;
  const { worked, problem } = tryWork(text);
  if (!worked)
    return markdownResult(
      request,
      'Problem needs restating',
      `could not read maths in: ${ask.request}`,
      unreadBlocks(text, problem),
      ask.business,
    );
  return markdownResult(
    request,
    `Solution: ${worked.problem}`,
    `${worked.problem}: ${worked.answer}`,
    workedBlocks(worked),
    ask.business,
  );
};

/** Parses "3 + 4 = 7; 2x = 6, x = 3" style answer lists from free text. */
function answersFromText(text: string): { question: string; answer: string }[] {
  const body = text.includes(':') ? text.slice(text.indexOf(':') + 1) : text;
  return body
    .split(/[;\n]/)
    .map((part) => part.trim())
    .map((part) => {
      const withVar = /^(.*=.*?),\s*([a-z])\s*=\s*(.+)$/i.exec(part);
      if (withVar) return { question: withVar[1]!.trim(), answer: `${withVar[2]} = ${withVar[3]!.trim()}` };
      const i = part.lastIndexOf('=');
      return i > 0 ? { question: part.slice(0, i).trim(), answer: part.slice(i + 1).trim() } : undefined;
    })
    .filter((x): x is { question: string; answer: string } => !!x && /\d/.test(x.question));
}

/** Marks one answer: works the question and compares exactly (fractions and decimals both accepted). */
export function markAnswer(question: string, answer: string): { correct: boolean; expected: string } {
  const worked = workProblem(question);
  if (!worked) throw new MathError(`no maths found in "${question}"`);
  const given = answer.replace(/^[a-z]\s*=\s*/i, '').trim();
  const expected = worked.answer.replace(/ \(about .*\)/, '').replace(/^[a-z] = /i, '');
  let correct = given === expected;
  try {
    correct = evaluate(parse(given)).equals(evaluate(parse(expected)));
  } catch {
    /* a non-numeric answer is compared as text */
  }
  return { correct, expected: worked.answer };
}

/** homework.check-answers: marks each answer right or wrong with the worked result. */
export const checkAnswers: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const given = detailRecords(ask.details, 'answers').map((r) => ({
    question: str(r, 'question'),
    answer: str(r, 'answer'),
  }));
  const items = given.length ? given : answersFromText(ask.request);
  if (!items.length) {
    const n = countOf(ask.request, ['answers?', 'questions?', 'problems?'], 0);
    return markdownResult(
      request,
      'Answer check: waiting for the answers',
      `no answers to check in: ${ask.request}`,
      [
        {
          heading: 'What I read',
          lines: bullets([ask.request, n ? `${n} answers expected` : 'No count given']),
        },
        {
          heading: 'How to send them',
          lines: bullets([
            'In the request after a colon, one per line or separated by ";": "Check: -7 + 3 = -4; 2x = 10, x = 5"',
            'Or as details.answers: [{ "question": "-7 + 3", "answer": "-4" }]',
          ]),
        },
      ],
      ask.business,
    );
  }
  const rows = items.map((item, i) => {
    try {
      const m = markAnswer(item.question, item.answer);
      return [i + 1, item.question, item.answer, m.expected, m.correct ? 'correct' : 'wrong'];
    } catch (e) {
      if (e instanceof MathError) return [i + 1, item.question, item.answer, '-', `unreadable: ${e.message}`];
      throw e;
    }
  });
  const right = rows.filter((r) => r[4] === 'correct').length;
  return markdownResult(
    request,
    `Answer check: ${right}/${rows.length} correct`,
    `${right} of ${rows.length} answers correct`,
    [
      {
        heading: 'Score',
        lines: [`${right} of ${rows.length} correct (${Math.round((right / rows.length) * 100)}%)`],
      },
      {
        heading: 'Answers',
        lines: table(['#', 'Question', 'Your answer', 'Correct answer', 'Result'], rows),
      },
      {
        heading: 'What to revisit',
        lines: bullets(
          rows
            .filter((r) => r[4] !== 'correct')
            .map((r) => `Question ${r[0]}: redo ${r[1]} (expected ${r[3]})`)
            .concat(right === rows.length ? ['Nothing: all correct'] : []),
        ),
      },
    ],
    ask.business,
  );
};

type Generator = (rand: () => number, level: number) => { q: string; a: string };

const int = (rand: () => number, lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
const nonZero = (rand: () => number, lo: number, hi: number): number => {
  const v = int(rand, lo, hi);
  return v === 0 ? hi : v;
};

/** Practice generators by topic: every question's answer is computed, not looked up. */
const GENERATORS: { topic: string; match: RegExp; gen: Generator }[] = [
  {
    topic: 'complex numbers',
    match: /complex/i,
    gen: (rand, level) => {
      const r = () => nonZero(rand, -3 * level, 3 * level);
      const [a, b, c, d] = [r(), r(), r(), r()];
      const fmt = (x: number, y: number) => `${x} ${y < 0 ? '-' : '+'} ${Math.abs(y)}i`;
      return { q: `Multiply (${fmt(a, b)})(${fmt(c, d)})`, a: fmt(a * c - b * d, a * d + b * c) };
    },
  },
  {
    topic: 'quadratic equations',
    match: /quadratic/i,
    gen: (rand, level) => {
      const [p, q] = [nonZero(rand, -4 * level, 4 * level), nonZero(rand, -4 * level, 4 * level)];
      const eq = `x^2 ${-(p + q) < 0 ? '-' : '+'} ${Math.abs(p + q)}x ${p * q < 0 ? '-' : '+'} ${Math.abs(p * q)} = 0`;
      return { q: `Solve ${eq}`, a: `x = ${Math.min(p, q)} or x = ${Math.max(p, q)}` };
    },
  },
  {
    topic: 'fractions',
    match: /fraction/i,
    gen: (rand, level) => {
      const q = `${int(rand, 1, 5 * level)}/${int(rand, 2, 6 * level)} + ${int(rand, 1, 5 * level)}/${int(rand, 2, 6 * level)}`;
      return { q: `Add ${q}`, a: evaluate(parse(q)).toString() };
    },
  },
  {
    topic: 'integers',
    match: /integer/i,
    gen: (rand, level) => {
      const q = `${int(rand, -20 * level, 20 * level)} - (${int(rand, -20 * level, -1)}) + ${int(rand, -10, 10)}`;
      return { q: `Evaluate ${q}`, a: evaluate(parse(q)).toString() };
    },
  },
  {
    topic: 'linear equations',
    match: /linear|equation|algebra/i,
    gen: (rand, level) => {
      const [a, x, b] = [nonZero(rand, 2, 4 * level), int(rand, -6 * level, 6 * level), int(rand, -15, 15)];
      const q = `${a}x ${b < 0 ? '-' : '+'} ${Math.abs(b)} = ${a * x + b}`;
      return { q: `Solve ${q}`, a: `x = ${x}` };
    },
  },
  {
    topic: 'arithmetic',
    match: /./,
    gen: (rand, level) => {
      const q = `${int(rand, 2, 12 * level)} * (${int(rand, 1, 9)} + ${int(rand, 1, 9)}) - ${int(rand, 1, 20)}`;
      return { q: `Evaluate ${q}`, a: evaluate(parse(q)).toString() };
    },
  },
];

/** Difficulty 1-3 from words in the request. */
export const levelOf = (text: string): number =>
  /\b(hard|advanced|difficult)\b/i.test(text) ? 3 : /\b(easy|basic|beginner)\b/i.test(text) ? 1 : 2;

/** A deterministic practice set for a topic: same request, same questions; a different request varies them. */
export function practiceSet(
  text: string,
  count: number,
): { topic: string; items: { q: string; a: string }[] } {
  const g = GENERATORS.find((x) => x.match.test(text)) ?? GENERATORS[GENERATORS.length - 1]!;
  // Seeded from the request, so a practice set is the same for the same ask.
  const rand = mulberry32(hash(text));
  const level = levelOf(text);
  return { topic: g.topic, items: Array.from({ length: count }, () => g.gen(rand, level)) };
}

/** tutoring.generate-practice-set: N questions on the topic asked, at the level asked, with an answer key. */
export const generatePracticeSet: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const count = countOf(ask.request, ['questions?', 'problems?', 'qs'], 10, 50);
  const { topic, items } = practiceSet(ask.request, count);
  const level = ['easy', 'medium', 'hard'][levelOf(ask.request) - 1]!;
  return markdownResult(
    request,
    `Practice set: ${count} ${level} questions on ${topic}`,
    `${count} ${topic} questions with answers`,
    [
      { heading: 'Questions', lines: numbered(items.map((i) => i.q)) },
      { heading: 'Answer key', lines: numbered(items.map((i) => i.a)) },
      {
        heading: 'How to use it',
        lines: bullets([
          `Time yourself: about ${Math.ceil(count * (level === 'hard' ? 3 : 2))} minutes in all`,
          'Mark with the key, then redo every wrong one without looking',
        ]),
      },
    ],
    ask.business,
  );
};

/** Reads mock scores from details.scores ([n] or [{score, max}]) or from "scored 180, 195 and 210 out of 300". */
export function readScores(
  details: Record<string, unknown>,
  text: string,
): { scores: number[]; max?: number } {
  const raw = details.scores;
  if (Array.isArray(raw)) {
    const scores = raw.map((s) =>
      typeof s === 'number'
        ? s
        : typeof s === 'object' && s !== null
          ? Number((s as Record<string, unknown>).score)
          : NaN,
    );
    if (scores.some((s) => !Number.isFinite(s)))
      throw new SkillInputError('details.scores must be numbers or { score } objects');
    const max = typeof details.max === 'number' ? details.max : undefined;
    return max === undefined ? { scores } : { scores, max };
  }
  const m = /(?:scores?|scored|got)\s*:?\s*([\d\s,and]+?)(?:\s*(?:out of|\/)\s*(\d+))?(?:[.?]|$)/i.exec(text);
  if (!m) return { scores: [] };
  const scores = (m[1]!.match(/\d+/g) ?? []).map(Number);
  return m[2] ? { scores, max: Number(m[2]) } : { scores };
}

/** Least-squares slope of a series (score change per attempt). */
export function slope(ys: readonly number[]): number {
  const n = ys.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, i) => {
    num += (i - mx) * (y - my);
    den += (i - mx) ** 2;
  });
  return num / den;
}

/** tutoring.analyse-mock-test: trend, average, best/worst and the pace needed for the target. */
export const analyseMockTest: CapabilityImpl = (request): SkillResult => {
  const ask = askOf(request);
  const { scores, max } = readScores(ask.details, ask.request);
  const exam = /neet/i.test(ask.request) ? { name: 'NEET', max: 720 } : { name: 'JEE Main', max: 300 };
  const outOf = max ?? exam.max;
  if (!scores.length)
    return markdownResult(
      request,
      `${exam.name} mock analysis: scores needed`,
      `no scores in: ${ask.request}`,
      [
        {
          heading: 'What I read',
          lines: bullets([ask.request, `Exam: ${exam.name}, marked out of ${outOf}`]),
        },
        {
          heading: 'Send the scores',
          lines: bullets([
            '"My scores: 142, 156 and 171 out of 300"',
            'or details.scores: [142, 156, 171] and details.max: 300',
          ]),
        },
      ],
      ask.business,
    );
  const avg = scores.reduce((a, b) => a + b, 0) / scores.length;
  const s = slope(scores);
  const target = Number(/target\D*(\d+)/i.exec(ask.request)?.[1] ?? Math.round(outOf * 0.6));
  const last = scores[scores.length - 1]!;
  const attemptsToTarget = s > 0 && last < target ? Math.ceil((target - last) / s) : undefined;
  return markdownResult(
    request,
    `${exam.name} mock analysis: ${scores.length} tests`,
    `average ${avg.toFixed(1)}/${outOf}, trend ${s >= 0 ? '+' : ''}${s.toFixed(1)} per test`,
    [
      {
        heading: 'Scores',
        lines: table(
          ['Mock', 'Score', 'Percent'],
          scores.map((v, i) => [i + 1, `${v}/${outOf}`, `${((v / outOf) * 100).toFixed(1)}%`]),
        ),
      },
      {
        heading: 'Trend',
        lines: bullets([
          `Average ${avg.toFixed(1)}, best ${Math.max(...scores)}, worst ${Math.min(...scores)}`,
          `Change per mock (least squares): ${s >= 0 ? '+' : ''}${s.toFixed(1)} marks`,
          last >= target
            ? `Latest score ${last} already meets the target of ${target}`
            : attemptsToTarget
              ? `At this pace the target of ${target} is about ${attemptsToTarget} mocks away`
              : `Scores are not rising; the target of ${target} needs a change of approach`,
        ]),
      },
    ],
    ask.business,
  );
};

export const mathCapabilities: Record<string, CapabilityImpl> = {
  'tutoring.solve-problem': solveProblem,
  'homework.explain-solution': solveProblem,
  'homework.check-answers': checkAnswers,
  'tutoring.generate-practice-set': generatePracticeSet,
  'tutoring.analyse-mock-test': analyseMockTest,
};
