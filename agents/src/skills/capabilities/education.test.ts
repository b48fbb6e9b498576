import { runSkill } from '..';
import type { SkillContext, SkillResult } from '../types';
import { SkillInputError } from '../types';
import { educationCapabilities } from './education';
import { capabilityDescriber, testCapability, testManifest } from './__tests__/fixtures';

const manifest = (name: string) =>
  testManifest([testCapability(name)], {
    handle: 'wow-tutor',
    name: 'WowTutor',
    kind: 'CUSTOMER',
    category: 'EDUCATION',
    specialization: 'Education',
    template: 'education',
  });

const now = new Date('2026-01-05T09:00:00Z');
const context: SkillContext = { now };

/** Runs a capability and checks the markdown deliverable's frame (title line and intro with the task date). */
async function run(name: string, input: unknown): Promise<SkillResult> {
  const result = await runSkill(manifest(name), name, input, context);
  expect(result.format).toBe('text/markdown');
  expect(result.content.startsWith(`# ${result.title}\n\nPrepared by WowTutor`)).toBe(true);
  expect(result.content).toContain(`on 2026-01-05 (${name} 1.0.0)`);
  return result;
}

const rejects = (name: string, input: unknown) =>
  expect(runSkill(manifest(name), name, input, context)).rejects.toThrow(SkillInputError);

/** The lines of a `## heading` block of a markdown deliverable. */
function section(content: string, heading: string): string[] {
  const blocks = content.split(/\n(?=## )/);
  const block = blocks.find((b) => b.startsWith(`## ${heading}\n`));
  if (!block) throw new Error(`no section "${heading}" in:\n${content}`);
  return block
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '');
}

/** The body rows of the markdown table in a section, as cells. */
const rows = (content: string, heading: string): string[][] =>
  section(content, heading)
    .filter((l) => l.startsWith('|'))
    .slice(2)
    .map((l) =>
      l
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    );

/** The items of a numbered list in a section, without their numbers. */
const items = (content: string, heading: string): string[] =>
  section(content, heading).map((l) => l.replace(/^\d+\. /, ''));

const nums = (text: string): number[] => (text.match(/\d+(?:\.\d+)?/g) ?? []).map(Number);

/** Works out an aptitude question independently of the generator. */
function solveQuant(q: string): number {
  const [a = NaN, b = NaN, c = NaN] = nums(q);
  if (q.startsWith('What is')) return (a * b) / 100; // a% of b
  if (q.startsWith('A train')) return a / b; // km / hours
  if (q.startsWith('Simple interest')) return (a * b * c) / 100; // P * R * T / 100
  if (q.startsWith('Ratio')) return (c / a) * b; // a:b scaled so the first term is c
  throw new Error(`unknown question: ${q}`);
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** Checks every question of a numbered set against its answer key. */
function expectQuantKey(content: string, heading: string, count: number) {
  const qs = items(content, heading);
  const answers = items(content, 'Answer key');
  expect(qs).toHaveLength(count);
  expect(answers).toHaveLength(count);
  qs.forEach((q, i) => expect(Number(answers[i])).toBeCloseTo(round2(solveQuant(q)), 2));
}

const { capability, tested } = capabilityDescriber();

describe('education registry', () => {
  it('has 15 capabilities, each tested below', () => {
    expect(Object.keys(educationCapabilities)).toHaveLength(15);
    expect([...tested].sort()).toEqual(Object.keys(educationCapabilities).sort());
  });
  it('rejects input that is not an ask', async () => {
    for (const name of Object.keys(educationCapabilities)) {
      await rejects(name, 42);
      await rejects(name, { request: 'hi' });
    }
  });
});

// ---- careers -----------------------------------------------------------------------------------

capability('career.assess-profile', () => {
  it('reads class, marks band and interests, and scores early fits', async () => {
    // No stream -> 0.4 for every path; Engineering matches 3 of its 5 interests: 0.4 + 0.6 * 0.6 = 0.76;
    // Economics matches maths (1/5): 0.52; the rest tie at 0.4 and sort by name.
    const r = await run(
      'career.assess-profile',
      'I am in class 10, scored 92% and love maths, physics and coding',
    );
    expect(r.summary).toBe('class 10, marks excellent, leaning Engineering (B.Tech)');
    expect(rows(r.content, 'Profile')).toEqual([
      ['Class', '10'],
      ['Marks', '92% (excellent)'],
      ['Stream', 'not chosen'],
      ['Academic interests', 'maths, physics, coding'],
      ['Other interests', 'none stated'],
    ]);
    expect(rows(r.content, 'Early fit')).toEqual([
      ['Engineering (B.Tech)', '0.76'],
      ['Economics / Data analytics', '0.52'],
      ['BBA / Management (IPM)', '0.4'],
    ]);
    expect(section(r.content, 'Strengths')).toEqual([
      '- Interest in maths',
      '- Interest in physics',
      '- Interest in coding',
      '- excellent marks keep competitive options open',
    ]);
    expect(items(r.content, 'Open questions')).toEqual([
      'What yearly fee budget can the family manage?',
      'Are you open to studying outside your home city?',
    ]);
  });
  it('asks for what is missing', async () => {
    const bare = await run('career.assess-profile', 'Help me choose a career');
    expect(bare.summary).toMatch(/^class \?, marks unknown, /);
    expect(items(bare.content, 'Open questions')).toEqual([
      'Which class are you in?',
      'What were your last exam marks?',
      'What yearly fee budget can the family manage?',
      'Are you open to studying outside your home city?',
    ]);
    const senior = await run('career.assess-profile', {
      request: 'I am in class 12 and scored 70% overall',
      details: { budget: '2 lakh a year' },
    });
    expect(senior.summary).toMatch(/^class 12, marks average, /);
    expect(items(senior.content, 'Open questions')).toEqual([
      'Which stream: science, commerce or arts?',
      'Are you open to studying outside your home city?',
    ]);
  });
});

capability('career.recommend-paths', () => {
  it('ranks paths by stream and interest fit', async () => {
    // Commerce: CA 0.4 + 0.6 * 3/4 = 0.85; CS/CMA 0.4 + 0.6 * 1/4 = 0.55; Economics (any) 0.3 + 0.6 * 1/5 = 0.42;
    // then open-to-all paths at 0.3 by name.
    const r = await run(
      'career.recommend-paths',
      'Commerce student who likes accounts, tax and numbers, class 12',
    );
    expect(r.summary).toBe('5 paths, best: Chartered Accountancy (CA)');
    const ranked = rows(r.content, 'Ranked paths');
    expect(ranked.map((row) => [row[0], row[1], row[2], row[3]])).toEqual([
      ['1', 'Chartered Accountancy (CA)', '0.85', 'commerce'],
      ['2', 'Company Secretary (CS) / CMA', '0.55', 'commerce'],
      ['3', 'Economics / Data analytics', '0.42', 'any'],
      ['4', 'BBA / Management (IPM)', '0.3', 'any'],
      ['5', 'Design (B.Des)', '0.3', 'any'],
    ]);
    expect(ranked[0]?.[4]).toBe('CA Foundation');
    expect(section(r.content, 'How this was scored')).toEqual([
      '- Stream: commerce (0.4 for a matching stream, 0.3 for open-to-all paths)',
      '- Interests matched: accounts, tax, numbers (60%)',
    ]);
  });
  it('drops an excluded path', async () => {
    const r = await run('career.recommend-paths', 'Science student who likes biology, not medicine');
    const ranked = rows(r.content, 'Ranked paths');
    expect(ranked.slice(0, 2).map((row) => [row[1], row[2]])).toEqual([
      ['Biotechnology / Life sciences', '0.55'],
      ['Engineering (B.Tech)', '0.4'],
    ]);
    expect(ranked.map((row) => row[1])).not.toContain('Medicine (MBBS)');
    expect(section(r.content, 'How this was scored')).toContain('- Excluded paths mentioning "medicine"');
  });
});

capability('career.plan-admissions', () => {
  it('dates registrations, exams and milestones from the task clock', async () => {
    const r = await run('career.plan-admissions', 'Plan for NID and UCEED');
    expect(r.title).toBe('Admissions plan: NID DAT, UCEED');
    expect(r.summary).toBe('2 exam(s), first on 2026-12-01');
    // NID: registration 1 Oct 2026, exam 1 Dec 2026 (329.6 days away: 47 weeks);
    // UCEED: registration 1 Oct 2026, exam 1 Jan 2027 (360.6 days: 51 weeks).
    expect(rows(r.content, 'Exams and colleges').map((row) => row.slice(0, 4))).toEqual([
      ['NID DAT', '2026-10-01', '2026-12-01', '47'],
      ['UCEED', '2026-10-01', '2027-01-01', '51'],
    ]);
    expect(rows(r.content, 'Milestones')).toEqual([
      ['2026-09-17', 'NID DAT: gather documents and photo'],
      ['2026-09-17', 'UCEED: gather documents and photo'],
      ['2026-10-01', 'NID DAT: registration window opens (typical)'],
      ['2026-10-01', 'UCEED: registration window opens (typical)'],
      ['2026-10-06', 'NID DAT: start full mocks, one a week'],
      ['2026-11-06', 'UCEED: start full mocks, one a week'],
      ['2026-11-24', 'NID DAT: download admit card, light revision'],
      ['2026-12-01', 'NID DAT: exam (typical month)'],
      ['2026-12-25', 'UCEED: download admit card, light revision'],
      ['2027-01-01', 'UCEED: exam (typical month)'],
    ]);
  });
  it('uses this year when the registration month is still ahead', async () => {
    // NEET: registration 1 Feb 2026, exam 1 May 2026, 115.6 days away: 16 weeks.
    const r = await run('career.plan-admissions', 'Plan for NEET');
    expect(rows(r.content, 'Exams and colleges').map((row) => row.slice(0, 4))).toEqual([
      ['NEET-UG', '2026-02-01', '2026-05-01', '16'],
    ]);
  });
  it('needs a known exam', async () => {
    await rejects('career.plan-admissions', 'Plan my admissions');
  });
});

// ---- study planning ----------------------------------------------------------------------------

capability('planning.build-timetable', () => {
  it('weights weak subjects double and leaves 15% for revision', async () => {
    // 20 days: 3 revision days, 17 study days split 1:1:2 -> Physics 4, Chemistry 4, Biology 9.
    const r = await run('planning.build-timetable', {
      request: 'Timetable for my NEET exam in 20 days',
      details: { weakSubjects: ['Biology'], hoursPerDay: 6 },
    });
    expect(r.title).toBe('Study timetable: 20 days');
    expect(r.summary).toBe('20 days, 3 subjects, revision from 2026-01-23');
    expect(rows(r.content, 'Allocation')).toEqual([
      ['Physics', '4', '24'],
      ['Chemistry', '4', '24'],
      ['Biology (weak)', '9', '54'],
    ]);
    const days = rows(r.content, 'First 14 days');
    expect(days).toHaveLength(14);
    expect(days[0]).toEqual(['2026-01-06', 'Biology', '5h Biology + 1h syllabus check']);
    expect(days[6]).toEqual(['2026-01-12', 'Chemistry', '5h Chemistry + 1h recap of yesterday; weekly test']);
    expect(days[13]?.[0]).toBe('2026-01-19');
    expect(days.map((d) => d[1]?.[0]).join('')).toBe('BPCBBPCBBPCBBP');
    expect(section(r.content, 'Revision phase')).toEqual([
      '- 2026-01-23 to 2026-01-25: 3 days of past papers and full revision',
      '- Exam day: 2026-01-25',
    ]);
  });
  it('counts days to an exam date and uses class subjects', async () => {
    // 2026-02-04 is 29.6 days after the task clock -> 30 days; 15% of 30 = 4.5 -> 5 revision days.
    const r = await run('planning.build-timetable', {
      request: 'Plan my class 10 boards',
      details: { examDate: '2026-02-04' },
    });
    expect(r.summary).toBe('30 days, 5 subjects, revision from 2026-01-31');
    const allocation = rows(r.content, 'Allocation');
    expect(allocation.map((row) => row[0])).toEqual([
      'Mathematics',
      'Science',
      'Social Science',
      'English',
      'Hindi',
    ]);
    // 25 study days over 5 equal subjects at the default 5 hours a day.
    expect(allocation.map((row) => [row[1], row[2]])).toEqual(Array(5).fill(['5', '25']));
    expect(section(r.content, 'Revision phase')).toContain('- Exam day: 2026-02-04');
  });
  it('needs an exam date in the future', async () => {
    await rejects('planning.build-timetable', {
      request: 'Plan my exams',
      details: { examDate: '2026-01-01' },
    });
    await rejects('planning.build-timetable', 'Plan my exams in 0 days');
  });
});

capability('planning.track-progress', () => {
  it('compares finished chapters with the week plan', async () => {
    const r = await run('planning.track-progress', 'I finished chapters 4 and 5');
    expect(r.title).toBe('Progress: slightly behind');
    expect(r.summary).toBe('2/3 planned chapters done: slightly behind');
    expect(rows(r.content, 'This week')).toEqual([
      ['4', 'yes', 'yes'],
      ['5', 'yes', 'yes'],
      ['6', 'yes', 'no'],
    ]);
    expect(section(r.content, 'Verdict')).toEqual([
      '- Completed 66.7% of the plan (3 chapters a week).',
      '- Carry chapter(s) 6 into next week, one extra session each.',
    ]);
  });
  it('uses the planned chapters given and counts extras', async () => {
    const slipping = await run('planning.track-progress', {
      request: 'Finished chapter 3',
      details: { plannedThisWeek: '3, 4, 5', completed: [9] },
    });
    expect(slipping.summary).toBe('2/3 planned chapters done: slipping');
    expect(rows(slipping.content, 'This week')).toEqual([
      ['3', 'yes', 'yes'],
      ['4', 'yes', 'no'],
      ['5', 'yes', 'no'],
      ['9', 'extra', 'yes'],
    ]);
    expect(section(slipping.content, 'Verdict')[0]).toBe(
      '- Completed 33.3% of the plan (3 chapters a week).',
    );
    const onTrack = await run('planning.track-progress', 'Done with chapters 1-3');
    expect(onTrack.summary).toBe('3/3 planned chapters done: on track');
  });
  it('needs the finished chapters', async () => {
    await rejects('planning.track-progress', 'I studied today');
  });
});

capability('planning.replan-week', () => {
  it('spreads missed sessions one a day, keeping day 7 for revision', async () => {
    const r = await run('planning.replan-week', {
      request: 'I missed 2 days of study',
      details: { subjects: ['Physics', 'Chemistry'] },
    });
    expect(r.summary).toBe('6 of 6 missed sessions recovered this week, 0 carried over');
    expect(rows(r.content, 'Next 7 days')).toEqual([
      ['2026-01-06', '3 planned', '1 catch-up (Physics)'],
      ['2026-01-07', '3 planned', '1 catch-up (Chemistry)'],
      ['2026-01-08', '3 planned', '1 catch-up (Physics)'],
      ['2026-01-09', '3 planned', '1 catch-up (Chemistry)'],
      ['2026-01-10', '3 planned', '1 catch-up (Physics)'],
      ['2026-01-11', '3 planned', '1 catch-up (Chemistry)'],
      ['2026-01-12', 'revision + weekly test', '-'],
    ]);
    expect(section(r.content, 'Rules used')).toEqual([
      '- Missed: 2 day(s) x 3 sessions = 6',
      '- At most 4 sessions a day',
      '- Day 7 stays revision only',
      '- Backlog cleared this week',
    ]);
  });
  it('carries over what does not fit', async () => {
    // 3 days x 4 sessions = 12 missed; one extra a day for 6 days recovers 6.
    const r = await run('planning.replan-week', {
      request: 'Replan my week',
      details: { missedDays: 3, sessionsPerDay: 4 },
    });
    expect(r.summary).toBe('6 of 12 missed sessions recovered this week, 6 carried over');
    expect(rows(r.content, 'Next 7 days')[0]).toEqual([
      '2026-01-06',
      '4 planned',
      '1 catch-up (Mathematics)',
    ]);
    expect(section(r.content, 'Rules used')).toContain('- 6 session(s) move to the following week');
  });
});

// ---- test prep ---------------------------------------------------------------------------------

capability('testprep.diagnose-level', () => {
  it('grades sections against the accuracy a target percentile needs', async () => {
    // 35 + (95 - 50) * 0.9 = 75.5 -> 76%; 65 is within 15 points (close), 50 is not (foundation).
    const r = await run('testprep.diagnose-level', {
      request: 'Diagnose my CAT level, target 95 percentile',
      details: { scores: { VARC: 80, DILR: 65, QA: 50 } },
    });
    expect(r.title).toBe('CAT level check');
    expect(r.summary).toBe('target 95 percentile needs about 76% per section');
    expect(rows(r.content, 'Level by section')).toEqual([
      ['VARC', '80%', '76%', 'ready'],
      ['DILR', '65%', '76%', 'close'],
      ['QA', '50%', '76%', 'foundation'],
    ]);
    expectQuantKey(r.content, 'Five-question diagnostic', 5);
  });
  it('reads "CAT 99" and defaults to the 90th percentile', async () => {
    const cat = await run('testprep.diagnose-level', 'Where am I for CAT 99?');
    expect(cat.summary).toBe('target 99 percentile needs about 79% per section');
    const ibps = await run('testprep.diagnose-level', 'Check my IBPS level');
    expect(ibps.summary).toBe('target 90 percentile needs about 71% per section');
    expect(rows(ibps.content, 'Level by section')).toEqual([
      ['English', 'take diagnostic', '71%', '-'],
      ['Quantitative Aptitude', 'take diagnostic', '71%', '-'],
      ['Reasoning', 'take diagnostic', '71%', '-'],
    ]);
    expectQuantKey(ibps.content, 'Five-question diagnostic', 5);
  });
  it('needs a known exam', async () => {
    await rejects('testprep.diagnose-level', 'Diagnose my level');
  });
});

capability('testprep.generate-mock', () => {
  it('builds a full mock on the exam pattern with a correct answer key', async () => {
    // CAT: 24 + 22 + 22 = 68 questions in 120 minutes, split 42 / 39 / 39.
    const r = await run('testprep.generate-mock', 'Generate a full CAT mock');
    expect(r.title).toBe('CAT full mock');
    expect(r.summary).toBe('68 questions in 120 minutes');
    expect(rows(r.content, 'Pattern')).toEqual([
      ['VARC', '24', '42'],
      ['DILR', '22', '39'],
      ['QA', '22', '39'],
    ]);
    expectQuantKey(r.content, 'Sample numerical aptitude set', 10);
    const again = await run('testprep.generate-mock', 'Generate a full CAT mock');
    expect(again.content).toBe(r.content);
  });
  it('builds a sectional mock on a topic with its share of the time', async () => {
    // One 22-question section: 120 * 22 / 68 = 38.8 -> 39 minutes.
    const r = await run(
      'testprep.generate-mock',
      'Generate a sectional CAT mock with 5 questions on arithmetic',
    );
    expect(r.title).toBe('CAT sectional mock');
    expect(r.summary).toBe('22 questions in 39 minutes');
    expect(rows(r.content, 'Pattern')).toEqual([['Arithmetic', '22', '39']]);
    expectQuantKey(r.content, 'Sample numerical aptitude set', 5);
  });
  it('needs a known exam', async () => {
    await rejects('testprep.generate-mock', 'Generate a mock test');
  });
});

capability('testprep.review-attempt', () => {
  it('classifies mistakes by time against the average', async () => {
    // Average 70 s: 10 s < 35 s is silly, 150 s > 105 s is time, 60 s wrong is concept.
    const r = await run('testprep.review-attempt', {
      request: 'Review my mock',
      details: {
        attempt: [
          { q: '1', topic: 'Algebra', correct: true, seconds: 60 },
          { q: '2', topic: 'Percentages', correct: false, seconds: 10 },
          { q: '3', topic: 'Geometry', correct: false, seconds: 150 },
          { q: '4', topic: 'Probability', correct: false, seconds: 60 },
          { q: '5', topic: 'Algebra', correct: true, seconds: 70 },
        ],
      },
    });
    expect(r.title).toBe('Mock review: 2/5');
    expect(r.summary).toBe('2/5 correct; 1 concept, 1 silly, 1 time');
    expect(rows(r.content, 'Question by question')).toEqual([
      ['1', 'Algebra', '60', 'correct'],
      ['2', 'Percentages', '10', 'silly'],
      ['3', 'Geometry', '150', 'time'],
      ['4', 'Probability', '60', 'concept'],
      ['5', 'Algebra', '70', 'correct'],
    ]);
    expect(section(r.content, 'Revision plan update')).toEqual([
      '- Re-learn Probability: one concept session and 10 practice questions',
      '- Add a 2-minute answer re-check before moving on',
      '- Skip any question past 105s on the first pass',
    ]);
  });
  it('asks for the attempt when none is given', async () => {
    const r = await run('testprep.review-attempt', 'Review my mock');
    expect(r.title).toBe('Mock review: waiting for the attempt');
    expect(r.summary).toBe('no attempt data in: Review my mock');
  });
  it('rejects a malformed attempt', async () => {
    await rejects('testprep.review-attempt', {
      request: 'Review my mock',
      details: { attempt: 'all wrong' },
    });
  });
});

// ---- tutoring ----------------------------------------------------------------------------------

capability('tutoring.explain-concept', () => {
  it('picks the best-matching concept and simplifies it for younger classes', async () => {
    const young = await run('tutoring.explain-concept', 'Why does ice float on water? Class 7');
    expect(young.title).toBe('Density and floating (Class 7)');
    expect(young.summary).toBe('Density and floating explained with an everyday example');
    expect(section(young.content, 'The idea')).toEqual([
      'An object floats when its density is less than the liquid.',
    ]);
    expect(section(young.content, 'Quick check')).toEqual([
      'Would ice float in alcohol (density 0.79 g/cm3)?',
    ]);
    const older = await run('tutoring.explain-concept', 'Explain refraction of light for class 10');
    expect(older.title).toBe('Refraction of light (Class 10)');
    expect(section(older.content, 'The idea')[0]).toContain('; n = sin i / sin r.');
    expect(section(older.content, 'Everyday example')).toEqual([
      'A straw in a glass of water looks broken at the surface.',
    ]);
  });
  it('lists what it knows when nothing matches', async () => {
    const r = await run('tutoring.explain-concept', 'Explain quantum tunnelling');
    expect(r.title).toBe('Concept not in my notes yet');
    expect(section(r.content, 'Concepts I can explain')).toHaveLength(6);
  });
});

capability('tutoring.answer-ncert', () => {
  it('plans a 3-mark answer for an "explain" question and names the chapter', async () => {
    const question = 'Why does dry HCl gas not change the colour of dry litmus paper? Explain.';
    const r = await run(
      'tutoring.answer-ncert',
      `NCERT class 10 science chapter 2 question 3: "${question}"`,
    );
    expect(r.title).toBe('NCERT Class 10 Science, Ch 2, Q 3');
    expect(r.summary).toBe('3-mark answer plan, about 80 words (Acids, Bases and Salts)');
    expect(section(r.content, 'Question')).toEqual([question]);
    expect(rows(r.content, 'Examiner format')).toEqual([
      ['Marks', '3'],
      ['Length', 'about 80 words'],
      ['Structure', 'definition, formula/diagram, working with units, final statement'],
      ['Keywords', 'Acids, Bases and Salts'],
    ]);
    expect(items(r.content, 'Marking points')).toHaveLength(4);
  });
  it('sizes a definition at 1 mark and honours details.marks', async () => {
    const define = await run(
      'tutoring.answer-ncert',
      'Class 9 science chapter 7 question 2: "Define velocity."',
    );
    expect(define.summary).toBe('1-mark answer plan, about 30 words (Motion)');
    expect(items(define.content, 'Marking points')).toEqual([
      'Write the exact NCERT term',
      'Add one supporting fact',
    ]);
    const long = await run('tutoring.answer-ncert', {
      request: 'Class 12 physics chapter 3 question 1.2',
      details: { marks: 5 },
    });
    expect(long.title).toBe('NCERT Class 12 Physics, Ch 3, Q 1.2');
    expect(long.summary).toBe('5-mark answer plan, about 150 words (Current Electricity)');
    expect(section(long.content, 'Question')[0]).toMatch(/^NCERT question 1\.2 from "Current Electricity"\./);
  });
});

capability('assessment.create-worksheet', () => {
  /** The correct answer of a worksheet question, worked from its numbers (options and "^2" left out). */
  function solve(q: string): number {
    const [a = NaN, b = NaN, c = NaN] = nums(q.replace(/ \(a\).*$/, '').replace(/\^2/g, ''));
    if (q.startsWith('A body starts')) return a + b * c; // v = u + at
    if (q.startsWith('Find the force')) return a * b; // F = ma
    if (q.startsWith('Find the kinetic')) return (a * b * b) / 2; // KE = mv^2 / 2
    throw new Error(`unknown question: ${q}`);
  }
  const ASSERTION_KEYS: Record<string, string> = {
    'Uniform circular motion is accelerated motion.': 'A (both true, R explains A)',
    'Displacement can be zero when distance is not.': 'A (both true, R explains A)',
    'A heavier body falls faster in vacuum.': 'D (A false, R true)',
  };
  /** Checks every item: MCQs have the right option, assertion-reason items the right key, short ones the value. */
  function expectWorksheet(content: string, count: number, unit: string) {
    const qs = items(content, 'Questions');
    const answers = items(content, 'Answer key');
    expect(qs).toHaveLength(count);
    expect(answers).toHaveLength(count);
    qs.forEach((q, i) => {
      const answer = answers[i] ?? '';
      if (i % 5 === 3) {
        const assertion = /^Assertion \(A\): (.+?) Reason \(R\):/.exec(q)?.[1] ?? '';
        expect(answer).toBe(ASSERTION_KEYS[assertion]);
        return;
      }
      const value = solve(q);
      expect(answer).toMatch(new RegExp(`= ${String(value).replace('.', '\\.')} ${unit}$`));
      if (i % 5 === 4) return;
      const options = [...q.matchAll(/\(([abcd])\) (-?[\d.]+)/g)].map((m) => Number(m[2]));
      expect(options).toHaveLength(4);
      const step = (options[1] ?? 0) - (options[0] ?? 0);
      expect(step).toBeGreaterThan(0);
      expect(options).toEqual([0, 1, 2, 3].map((k) => (options[0] ?? 0) + k * step));
      const letter = /^\(([abcd])\)/.exec(answer)?.[1] ?? '';
      expect(options['abcd'.indexOf(letter)]).toBe(value);
      expect(options[0]).toBeGreaterThan(0);
      letters.push(letter);
    });
  }
  let letters: string[] = [];
  beforeEach(() => (letters = []));
  it('does not always put the right answer in the same place', async () => {
    const r = await run('assessment.create-worksheet', 'Make 50 questions on work and energy');
    expectWorksheet(r.content, 50, 'J');
    expect(new Set(letters).size).toBeGreaterThan(1);
  });
  it('makes a motion worksheet with a correct answer key', async () => {
    const r = await run('assessment.create-worksheet', 'Worksheet with 10 questions on motion for class 9');
    expect(r.title).toBe('Worksheet: Motion (10 questions)');
    expect(r.summary).toBe('10 questions on Motion with answer key');
    expectWorksheet(r.content, 10, 'm/s');
  });
  it('picks the topic from the request and caps the count at 50', async () => {
    const force = await run('assessment.create-worksheet', "Worksheet on Newton's laws, 5 questions");
    expect(force.title).toBe('Worksheet: Force and laws of motion (5 questions)');
    expectWorksheet(force.content, 5, 'N');
    const energy = await run('assessment.create-worksheet', 'Make 80 questions on work and energy');
    expect(energy.title).toBe('Worksheet: Work and energy (50 questions)');
    expectWorksheet(energy.content, 50, 'J');
  });
});

// ---- spoken English ----------------------------------------------------------------------------

capability('language.correct-writing', () => {
  it('fixes common Indian-English patterns in quoted text', async () => {
    const r = await run(
      'language.correct-writing',
      'Correct this: "Myself Ravi. I am having two brothers and one of my friend is out of station."',
    );
    expect(r.title).toBe('Writing check: 4 fix(es)');
    expect(r.summary).toBe('4 fix(es): have two brothers; one of my friends; I am Ravi; out of town');
    expect(rows(r.content, 'Fixes').map((row) => [row[0], row[1]])).toEqual([
      ['am having two brothers', 'have two brothers'],
      ['one of my friend', 'one of my friends'],
      ['Myself Ravi', 'I am Ravi'],
      ['out of station', 'out of town'],
    ]);
    expect(section(r.content, 'Natural version')).toEqual([
      'I am Ravi. I have two brothers and one of my friends is out of town.',
    ]);
  });
  it('checks details.text and keeps capitals', async () => {
    const r = await run('language.correct-writing', {
      request: 'Check my email',
      details: { text: 'Kindly discuss about the budget. I have lived in Pune since 3 years.' },
    });
    expect(section(r.content, 'Natural version')).toEqual([
      'Please discuss the budget. I have lived in Pune for 3 years.',
    ]);
    expect(r.summary).toBe('3 fix(es): discuss; for 3 years; Please');
  });
  it('says when nothing needs fixing', async () => {
    const r = await run('language.correct-writing', 'Correct: "The meeting is at noon."');
    expect(r.summary).toBe('no common errors found in "The meeting is at noon."');
    expect(section(r.content, 'Natural version')).toEqual(['The meeting is at noon.']);
  });
});

capability('language.practice-conversation', () => {
  it('scripts the role-play and scores the answer', async () => {
    const r = await run('language.practice-conversation', {
      request: 'Practise a job interview for a sales executive role',
      details: { answer: 'Basically I am having two sisters. Actually I like sales, you know.' },
    });
    expect(r.title).toBe('Role-play: interviewer (sales executive)');
    expect(r.summary).toBe('5-turn interviewer role-play');
    expect(items(r.content, 'Script')[1]).toBe('Interviewer: Why do you want the sales executive role?');
    // 12 words over 2 sentences; fillers: basically, actually, like, you know.
    expect(rows(r.content, 'Feedback')).toEqual([
      ['Words per sentence', '6'],
      ['Filler words', '4'],
      ['Grammar fixes', 'am having two sisters -> have two sisters'],
    ]);
  });
  it('falls back to a shop role-play and asks for an answer', async () => {
    const r = await run('language.practice-conversation', 'Practise talking at a shop');
    expect(r.title).toBe('Role-play: shopkeeper');
    expect(items(r.content, 'Script')).toEqual([
      'Shopkeeper: Good morning, how can I help?',
      'Shopkeeper: Which size do you need?',
      'Shopkeeper: Would you like to pay by card or UPI?',
    ]);
    expect(section(r.content, 'Feedback')[0]).toMatch(/^Reply to the first question/);
  });
});

capability('language.build-vocabulary', () => {
  it('lists the words asked for with spaced review dates', async () => {
    const r = await run('language.build-vocabulary', 'Teach me 5 words for office emails');
    expect(r.title).toBe('Vocabulary: office emails (5 words)');
    expect(r.summary).toBe('5 office emails words with 5 review dates');
    const words = rows(r.content, 'Word list');
    expect(words).toHaveLength(5);
    expect(new Set(words.map((w) => w[0])).size).toBe(5);
    expect(rows(r.content, 'Review schedule')).toEqual([
      ['1', '2026-01-06', 'all'],
      ['2', '2026-01-08', 'the ones you missed last time'],
      ['3', '2026-01-12', 'the ones you missed last time'],
      ['4', '2026-01-19', 'the ones you missed last time'],
      ['5', '2026-02-04', 'the ones you missed last time'],
    ]);
  });
  it('caps the count at the size of the word bank', async () => {
    const r = await run('language.build-vocabulary', 'Give me 50 travel words');
    expect(r.title).toBe('Vocabulary: travel (5 words)');
    expect(
      rows(r.content, 'Word list')
        .map((w) => w[0])
        .sort(),
    ).toEqual(['boarding pass', 'check in', 'delayed', 'itinerary', 'luggage']);
  });
});
