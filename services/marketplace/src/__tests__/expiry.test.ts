import { randomUUID } from 'node:crypto';
import { pollFor, uniqueName } from '@waooaw/shared/testing';
import type { TrialStatus } from '@waooaw/shared';
import type { TrialRecord } from '../models/trial';
import type { Harness } from './harness';
import { testClock } from '@waooaw/shared/testing';
import { BUSINESS, deliverable, iso, START_TRIAL, startMarketplace, TRIAL } from './harness';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Trial {
  id: string;
  status: string;
  startedAt: string;
  endsAt: string;
  endedAt: string | null;
  tasks: { id: string }[];
  deliverables: { title: string }[];
}

/** Trial periods with a clock the test moves: reminders, expiry, cooldowns, resumed activations. */
describe('marketplace: trial time', () => {
  let m: Harness;
  const clock = testClock(new Date('2030-01-01T09:00:00.000Z'));
  beforeAll(async () => {
    m = await startMarketplace({ clock });
  });
  afterAll(() => m.stop());

  const start = async (customer: string, agentId: string) => {
    const result = await m.as(customer)<{ startTrial: Trial }>(START_TRIAL, {
      input: { agentId, businessContext: BUSINESS },
    });
    return result;
  };
  const reminders = (trialId: string) =>
    m
      .eventsOf('marketplace.activity.created')
      .filter((e) => e.data.trialId === trialId && e.data.kind === 'TRIAL_REMINDER');

  /**
   * Leaves behind what a process that died during an activation would: a trial whose lease ran out, its
   * activation RUNNING with the given step outcomes, holding the agent's capacity and, once admitted,
   * the customer's slot.
   */
  const strandTrial = async (
    agentName: string,
    status: TrialStatus,
    activation: Pick<TrialRecord['activation'], 'admitted' | 'steps'>,
    extra: Partial<TrialRecord> = {},
  ) => {
    const agent = await m.registerAgent({ name: agentName });
    const customer = uniqueName('cust');
    const id = `trial-${randomUUID()}`;
    const stranded: Partial<TrialRecord> = {
      _id: id,
      customerId: customer,
      agentId: agent.agentId,
      handle: agent.handle,
      agentName,
      category: 'MARKETING',
      trialDays: 7,
      businessContext: { ...BUSINESS },
      status,
      activeKey: `${customer}|${agent.agentId}`,
      createdAt: clock.now(),
      updatedAt: clock.now(),
      activation: { state: 'RUNNING', ...activation, lockedUntil: new Date(Date.now() - 1000) },
      ...extra,
    };
    await m.models.trials.create(stranded);
    const holders = [`agent:${agent.agentId}`, ...(activation.admitted ? [`customer:${customer}`] : [])];
    for (const key of holders)
      await m.models.counters.updateOne(
        { _id: key },
        { $inc: { count: 1 }, $push: { holders: id } },
        { upsert: true },
      );
    return { agent, customer, id };
  };

  it('reminds 2 days, 1 day and 6 hours before the end, each once, then expires the trial and keeps its deliverables', async () => {
    const agent = await m.registerAgent({ name: 'Timed Agent', trialDays: 7 });
    const customer = uniqueName('cust');
    const trial = (await start(customer, agent.agentId)).data!.startTrial;
    expect(iso(trial.startedAt)).toBe('2030-01-01T09:00:00.000Z');
    expect(iso(trial.endsAt)).toBe('2030-01-08T09:00:00.000Z');
    await m.taskUpdate(
      { taskId: trial.tasks[0]!.id, agentId: agent.agentId },
      { status: 'COMPLETED', output: deliverable('First plan') },
    );
    await pollFor(async () => (await m.models.deliverables.countDocuments({ trialId: trial.id })) === 1);

    const sweepAt = async (at: string) => {
      clock.set(new Date(at));
      return m.sweep();
    };
    expect(await sweepAt('2030-01-06T08:00:00.000Z')).toMatchObject({ reminded: 0, expired: 0 });
    expect(await sweepAt('2030-01-06T09:00:00.000Z')).toMatchObject({ reminded: 1 });
    expect(await sweepAt('2030-01-06T10:00:00.000Z')).toMatchObject({ reminded: 0 });
    expect(await sweepAt('2030-01-07T09:30:00.000Z')).toMatchObject({ reminded: 1 });
    expect(await sweepAt('2030-01-08T03:00:00.000Z')).toMatchObject({ reminded: 1 });
    expect(await sweepAt('2030-01-08T08:00:00.000Z')).toMatchObject({ reminded: 0, expired: 0 });
    await pollFor(() => reminders(trial.id).length === 3, { what: 'three reminders' });
    expect(reminders(trial.id).map((e) => e.data.message)).toEqual([
      'A free trial of Timed Agent ends in 2 days',
      'A free trial of Timed Agent ends in 1 day',
      'A free trial of Timed Agent ends in 6 hours',
    ]);
    expect(reminders(trial.id).every((e) => e.data.customerId === customer)).toBe(true);

    expect(await sweepAt('2030-01-08T09:00:00.000Z')).toMatchObject({ expired: 1 });
    const expired = (await m.as(customer)<{ trial: Trial }>(TRIAL, { id: trial.id })).data!.trial;
    expect(expired).toMatchObject({ status: 'EXPIRED', deliverables: [{ title: 'First plan' }] });
    expect(iso(expired.endedAt)).toBe('2030-01-08T09:00:00.000Z');
    expect(await sweepAt('2030-01-09T09:00:00.000Z')).toMatchObject({ expired: 0, reminded: 0 });
    await pollFor(() => m.trialEvents(trial.id).some((e) => e.status === 'EXPIRED'));
    await pollFor(() =>
      m
        .eventsOf('marketplace.activity.created')
        .some((e) => e.data.trialId === trial.id && e.data.kind === 'TRIAL_ENDED'),
    );
    expect((await m.models.counters.findById(`customer:${customer}`).lean())!.count).toBe(0);
    expect((await m.models.counters.findById(`agent:${agent.agentId}`).lean())!.count).toBe(0);

    // An expired trial can still be converted.
    const converted = await m.as(customer)<{ convertTrial: { status: string; trial: { status: string } } }>(
      `mutation($t: ID!) { convertTrial(trialId: $t, plan: "starter") { status trial { status } } }`,
      { t: trial.id },
    );
    expect(converted.data!.convertTrial).toEqual({ status: 'ACTIVE', trial: { status: 'CONVERTED' } });
  });

  it('lets the customer trial the agent again once the cooldown is over', async () => {
    clock.set(new Date('2030-02-01T00:00:00.000Z'));
    const agent = await m.registerAgent({ trialDays: 3 });
    const customer = uniqueName('cust');
    const first = (await start(customer, agent.agentId)).data!.startTrial;
    clock.advance(3 * DAY);
    expect((await m.sweep()).expired).toBeGreaterThanOrEqual(1);
    const refused = await start(customer, agent.agentId);
    expect(refused.errors?.[0]).toMatchObject({
      extensions: {
        code: 'TRIAL_COOLDOWN',
        availableFrom: '2030-03-06T00:00:00.000Z',
        previousTrialId: first.id,
      },
    });
    clock.advance(30 * DAY - 1);
    expect((await start(customer, agent.agentId)).errors?.[0]?.extensions.code).toBe('TRIAL_COOLDOWN');
    clock.advance(1);
    const second = await start(customer, agent.agentId);
    expect(second.errors).toBeUndefined();
    expect(second.data!.startTrial.status).toBe('ACTIVE');
  });

  it('resumes an activation a crash interrupted, from its persisted steps', async () => {
    clock.set(new Date('2030-04-01T00:00:00.000Z'));
    // What a process that died right after taking the agent's capacity leaves behind.
    const { agent, customer, id } = await strandTrial('Resumed Agent', 'PROVISIONING', {
      admitted: false,
      steps: [
        { name: 'RESERVE_CAPACITY', status: 'PENDING', at: null, error: null },
        { name: 'ACTIVATE', status: 'PENDING', at: null, error: null },
        { name: 'WELCOME', status: 'PENDING', at: null, error: null },
      ],
    });
    expect(await m.sweep()).toMatchObject({ resumed: 1 });
    const resumed = (await m.as(customer)<{ trial: Trial }>(TRIAL, { id })).data!.trial;
    expect(resumed.status).toBe('ACTIVE');
    expect(iso(resumed.startedAt)).toBe('2030-04-01T00:00:00.000Z');
    await pollFor(() => m.commandsFor(`trial.${id}.first`).length === 1, {
      what: 'the first task of the resumed trial',
    });
    // The capacity it already held was not taken twice; the customer's slot was taken on resume.
    expect((await m.models.counters.findById(`agent:${agent.agentId}`).lean())!.count).toBe(1);
    expect((await m.models.counters.findById(`customer:${customer}`).lean())!.holders).toEqual([id]);
  });

  it('finishes undoing an activation a crash interrupted after a step failed, from its persisted steps', async () => {
    clock.set(new Date('2030-05-01T00:00:00.000Z'));
    // What a process that died right after recording the WELCOME failure leaves behind: the trial ACTIVE,
    // the first two steps done, nothing undone yet.
    const { agent, customer, id } = await strandTrial(
      'Unwound Agent',
      'ACTIVE',
      {
        admitted: true,
        steps: [
          { name: 'RESERVE_CAPACITY', status: 'COMPLETED', at: clock.now(), error: null },
          { name: 'ACTIVATE', status: 'COMPLETED', at: clock.now(), error: null },
          { name: 'WELCOME', status: 'FAILED', at: clock.now(), error: 'the mail relay was down' },
        ],
      },
      { startedAt: clock.now(), endsAt: new Date(clock.now().getTime() + 7 * DAY) },
    );
    expect(await m.sweep()).toMatchObject({ resumed: 1 });
    const undone = (
      await m.as(customer)<{
        trial: Trial & { cancelReason: string; activation: { name: string; status: string }[] };
      }>(TRIAL, { id })
    ).data!.trial;
    expect(undone).toMatchObject({
      status: 'CANCELLED',
      cancelReason: 'Could not start the trial: the mail relay was down',
      activation: [
        { name: 'RESERVE_CAPACITY', status: 'COMPENSATED' },
        { name: 'ACTIVATE', status: 'COMPENSATED' },
        { name: 'WELCOME', status: 'FAILED' },
      ],
      tasks: [],
    });
    expect((await m.models.counters.findById(`agent:${agent.agentId}`).lean())!.count).toBe(0);
    expect((await m.models.counters.findById(`customer:${customer}`).lean())!.count).toBe(0);
    expect((await m.models.trials.findById(id).lean())!.activation.state).toBe('COMPENSATED');
    // Done: the next sweep has nothing of it to resume.
    expect(await m.sweep()).toMatchObject({ resumed: 0 });
  });

  it('gives back slots a crash left held by trials that ended', async () => {
    const ghost = `trial-${randomUUID()}`;
    await m.models.counters.create({ _id: `customer:${uniqueName('cust')}`, count: 1, holders: [ghost] });
    expect((await m.sweep()).released).toBeGreaterThanOrEqual(1);
    expect(await m.models.counters.countDocuments({ holders: ghost })).toBe(0);
  });
});
