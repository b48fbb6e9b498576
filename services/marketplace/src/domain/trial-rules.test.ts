import {
  addOneMonth,
  canTransition,
  cooldownEndsAt,
  defaultTaskCapability,
  dueReminders,
  endedKey,
  runningKey,
  statusesLeadingTo,
  trialEndsAt,
  trialIdOfTask,
  trialTaskId,
  trialTaskInput,
} from './trial-rules';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('trial state machine', () => {
  it('goes PROVISIONING -> ACTIVE -> EXPIRED | CANCELLED | CONVERTED and never back', () => {
    expect(canTransition('PROVISIONING', 'ACTIVE')).toBe(true);
    expect(canTransition('PROVISIONING', 'CANCELLED')).toBe(true);
    expect(canTransition('ACTIVE', 'EXPIRED')).toBe(true);
    expect(canTransition('ACTIVE', 'CONVERTED')).toBe(true);
    expect(canTransition('EXPIRED', 'CONVERTED')).toBe(true);
    expect(canTransition('EXPIRED', 'ACTIVE')).toBe(false);
    expect(canTransition('CANCELLED', 'ACTIVE')).toBe(false);
    expect(canTransition('CONVERTED', 'CANCELLED')).toBe(false);
    expect(canTransition('PROVISIONING', 'CONVERTED')).toBe(false);
    expect(statusesLeadingTo('CONVERTED').sort()).toEqual(['ACTIVE', 'EXPIRED']);
    expect(statusesLeadingTo('CANCELLED').sort()).toEqual(['ACTIVE', 'PROVISIONING']);
  });

  it('keys running trials by customer and agent, ended ones by their own id', () => {
    expect(runningKey('c1', 'a1')).toBe('c1|a1');
    expect(endedKey('t1')).toBe('ended|t1');
    expect(runningKey('c1', 'a1')).not.toBe(endedKey('c1|a1'));
  });
});

describe('trial periods', () => {
  const start = new Date('2025-03-01T10:00:00.000Z');

  it('ends trialDays after the start', () => {
    expect(trialEndsAt(start, 7).toISOString()).toBe('2025-03-08T10:00:00.000Z');
  });

  it('blocks a new trial of the same agent until the cooldown after the last one ended', () => {
    expect(cooldownEndsAt(null, 30)).toBeNull();
    expect(cooldownEndsAt(start, 0)).toBeNull();
    expect(cooldownEndsAt(start, 30)!.toISOString()).toBe('2025-03-31T10:00:00.000Z');
  });

  it('reminds 2 days, 1 day and 6 hours before the end, each once, the nearest when several are due', () => {
    const endsAt = new Date(start.getTime() + 7 * DAY);
    const at = (msBeforeEnd: number) => new Date(endsAt.getTime() - msBeforeEnd);
    expect(dueReminders(endsAt, [], at(3 * DAY))).toBeNull();
    expect(dueReminders(endsAt, [], at(2 * DAY))).toMatchObject({ announce: { key: '2d' }, due: ['2d'] });
    expect(dueReminders(endsAt, ['2d'], at(2 * DAY - HOUR))).toBeNull();
    expect(dueReminders(endsAt, ['2d'], at(DAY))).toMatchObject({ announce: { key: '1d', label: '1 day' } });
    expect(dueReminders(endsAt, ['2d', '1d'], at(6 * HOUR))).toMatchObject({
      announce: { key: '6h', label: '6 hours' },
      due: ['6h'],
    });
    expect(dueReminders(endsAt, ['2d', '1d', '6h'], at(HOUR))).toBeNull();
    // A late sweep sends only the nearest reminder and marks the missed ones.
    expect(dueReminders(endsAt, [], at(5 * HOUR))).toMatchObject({
      announce: { key: '6h' },
      due: ['2d', '1d', '6h'],
    });
    expect(dueReminders(endsAt, [], endsAt)).toBeNull();
  });

  it('renews a month later, on the last day of a shorter month', () => {
    expect(addOneMonth(new Date('2025-01-15T08:00:00.000Z')).toISOString()).toBe('2025-02-15T08:00:00.000Z');
    expect(addOneMonth(new Date('2025-01-31T08:00:00.000Z')).toISOString()).toBe('2025-02-28T08:00:00.000Z');
    expect(addOneMonth(new Date('2024-01-31T08:00:00.000Z')).toISOString()).toBe('2024-02-29T08:00:00.000Z');
    expect(addOneMonth(new Date('2025-12-10T00:00:00.000Z')).toISOString()).toBe('2026-01-10T00:00:00.000Z');
  });
});

describe('trial tasks', () => {
  it('defaults to the first capability that is not a trial one', () => {
    expect(defaultTaskCapability(['trial.first-deliverable', 'content.write-article', 'seo.audit'])).toBe(
      'content.write-article',
    );
    expect(defaultTaskCapability(['trial.first-deliverable'])).toBe('trial.first-deliverable');
    expect(defaultTaskCapability([])).toBeNull();
  });

  it('sends the business context to the first deliverable and the request to other capabilities', () => {
    const business = { businessName: 'Sunrise Clinic', goals: [], challenges: [] };
    expect(trialTaskInput('trial.first-deliverable', business, 'ignored', null)).toEqual({
      businessContext: business,
    });
    expect(trialTaskInput('content.write-article', business, 'Write about dengue', { words: 800 })).toEqual({
      request: 'Write about dengue',
      businessContext: business,
      details: { words: 800 },
    });
  });

  it('finds the trial of a task id the marketplace chose, and nothing in other ids', () => {
    const id = trialTaskId('trial-1234-abcd', 'first');
    expect(id).toBe('trial.trial-1234-abcd.first');
    expect(id).toMatch(/^[a-zA-Z0-9._:-]{1,200}$/);
    expect(trialIdOfTask(id)).toBe('trial-1234-abcd');
    expect(trialIdOfTask('task-123')).toBeNull();
    expect(trialIdOfTask('sample.agent.1.0.0')).toBeNull();
  });
});
