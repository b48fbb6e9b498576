import { randomUUID } from 'node:crypto';
import type { Harness } from './harness';
import { startMarketplace } from './harness';

/*
 * Business figures over a small fixture written straight into the marketplace's database (the
 * records as the trial, conversion and payment code leave them), with every expected number worked
 * out by hand below. The window is June 2025, long past: day 7 is judged as of the window's end.
 */
const SINCE = '2025-06-01T00:00:00.000Z';
const UNTIL = '2025-07-01T00:00:00.000Z';
const d = (day: number, time = '00:00:00') =>
  new Date(`2025-06-${String(day).padStart(2, '0')}T${time}.000Z`);
const may = (day: number) => new Date(`2025-05-${String(day).padStart(2, '0')}T00:00:00.000Z`);
const plus = (at: Date, ms: number) => new Date(at.getTime() + ms);

const A1 = `agent-${randomUUID()}`; // MARKETING
const A2 = `agent-${randomUUID()}`; // SALES
const C1 = `cust-${randomUUID()}`;
const C2 = `cust-${randomUUID()}`;

type TaskFixture = {
  status: string;
  requestedAt: Date;
  completedAt: Date | null;
  deliverableId: string | null;
};
const task = (
  requestedAt: Date,
  status: string,
  tookMs: number | null,
  deliverableId: string | null = null,
) =>
  ({
    status,
    requestedAt,
    completedAt: tookMs === null ? null : plus(requestedAt, tookMs),
    deliverableId,
  }) satisfies TaskFixture;

function trial(
  id: string,
  f: {
    agentId: string;
    customerId: string;
    status: string;
    createdAt: Date;
    startedAt: Date | null;
    endedAt: Date | null;
    convertedAt?: Date;
    tasks?: TaskFixture[];
  },
) {
  const agentCategory = f.agentId === A1 ? 'MARKETING' : 'SALES';
  return {
    _id: id,
    customerId: f.customerId,
    agentId: f.agentId,
    handle: `h-${f.agentId}`,
    agentName: 'Fixture agent',
    category: agentCategory,
    trialDays: 7,
    businessContext: { businessName: 'Fixture' },
    status: f.status,
    activeKey: f.endedAt ? `ended|${id}` : `${f.customerId}|${f.agentId}|${id}`,
    createdAt: f.createdAt,
    startedAt: f.startedAt,
    endedAt: f.endedAt,
    activation: {
      state: f.startedAt ? 'COMPLETED' : 'COMPENSATED',
      admitted: false,
      steps: [],
      lockedUntil: null,
    },
    conversion: f.convertedAt ? { completedAt: f.convertedAt } : null,
    tasks: (f.tasks ?? []).map((t, i) => ({
      id: `trial.${id}.${i}`,
      capability: 'content.write-article',
      request: null,
      error: null,
      ...t,
    })),
    remindersSent: [],
    appliedEventIds: [],
    outbox: [],
    updatedAt: f.endedAt ?? f.createdAt,
  };
}

/*
 * Trials (id: agent, customer; created = started unless said; deliverables from its tasks):
 * T1: A1, C1, started Jun 1, 2 deliverables, CONVERTED Jun 5         day 7 = Jun 8 reached, converted by then: active
 * T2: A1, C1, started Jun 2, 1 deliverable, CANCELLED Jun 4           day 7 = Jun 9 reached, ended before: not active
 * T3: A1, C2, started Jun 3, none, EXPIRED Jun 10                     day 7 = Jun 10 reached, ran to it: active
 * T4: A1, C1, started Jun 28, 1 deliverable, ACTIVE                   day 7 = Jul 5 after the window: not reached
 * T5: A2, C2, asked Jun 5, never started (activation undone), CANCELLED
 * T6: A2, C2, started Jun 10, 1 deliverable, CONVERTED Jun 20         day 7 = Jun 17 reached, still running: active
 * T7: A1, C1, started May 20: before the window, in no figure.
 */
const TRIALS = [
  trial('T1', {
    agentId: A1,
    customerId: C1,
    status: 'CONVERTED',
    createdAt: d(1),
    startedAt: d(1),
    endedAt: d(5),
    convertedAt: d(5),
    tasks: [
      task(d(1, '10:00:00'), 'COMPLETED', 60_000, 'D1'),
      task(d(2, '10:00:00'), 'COMPLETED', 180_000, 'D2'),
    ],
  }),
  trial('T2', {
    agentId: A1,
    customerId: C1,
    status: 'CANCELLED',
    createdAt: d(2),
    startedAt: d(2),
    endedAt: d(4),
    tasks: [task(d(2, '10:00:00'), 'COMPLETED', 30_000, 'D3'), task(d(3, '10:00:00'), 'FAILED', 5_000)],
  }),
  trial('T3', {
    agentId: A1,
    customerId: C2,
    status: 'EXPIRED',
    createdAt: d(3),
    startedAt: d(3),
    endedAt: d(10),
  }),
  trial('T4', {
    agentId: A1,
    customerId: C1,
    status: 'ACTIVE',
    createdAt: d(28),
    startedAt: d(28),
    endedAt: null,
    tasks: [task(d(28, '10:00:00'), 'COMPLETED', 90_000, 'D4'), task(d(29, '10:00:00'), 'WORKING', null)],
  }),
  trial('T5', {
    agentId: A2,
    customerId: C2,
    status: 'CANCELLED',
    createdAt: d(5),
    startedAt: null,
    endedAt: d(5),
  }),
  trial('T6', {
    agentId: A2,
    customerId: C2,
    status: 'CONVERTED',
    createdAt: d(10),
    startedAt: d(10),
    endedAt: d(20),
    convertedAt: d(20),
    tasks: [task(d(10, '10:00:00'), 'COMPLETED', 20_000, 'D6')],
  }),
  trial('T7', {
    agentId: A1,
    customerId: C1,
    status: 'EXPIRED',
    createdAt: may(20),
    startedAt: may(20),
    endedAt: may(27),
  }),
];

const deliverable = (id: string, trialId: string, customerId: string, agentId: string, createdAt: Date) => ({
  _id: id,
  trialId,
  customerId,
  agentId,
  taskId: `task-${id}`,
  capability: 'content.write-article',
  title: id,
  content: '',
  format: 'text/markdown',
  summary: '',
  createdAt,
});
const DELIVERABLES = [
  deliverable('D1', 'T1', C1, A1, d(1)),
  deliverable('D2', 'T1', C1, A1, d(2)),
  deliverable('D3', 'T2', C1, A1, d(2)),
  deliverable('D4', 'T4', C1, A1, d(28)),
  deliverable('D6', 'T6', C2, A2, d(10)),
];

const plan = (id: string, price: number) => ({
  id,
  name: id[0]!.toUpperCase() + id.slice(1),
  monthlyPriceInr: price,
  features: [],
});
function subscription(
  id: string,
  f: { agentId: string; trialId: string; plan: ReturnType<typeof plan>; at: Date; cancelledAt: Date | null },
) {
  return {
    _id: id,
    customerId: C1,
    agentId: f.agentId,
    trialId: f.trialId,
    plan: f.plan,
    priceInr: f.plan.monthlyPriceInr,
    status: f.cancelledAt ? 'CANCELLED' : 'ACTIVE',
    startedAt: f.at,
    renewsAt: plus(f.at, 30 * 86_400_000),
    cancelledAt: f.cancelledAt,
    cancelReason: null,
    paymentId: `pay-${id}`,
    createdAt: f.at,
  };
}
const payment = (id: string, amountInr: number, at: Date, status = 'SUCCEEDED') => ({
  _id: id,
  customerId: C1,
  amountInr,
  description: 'fixture',
  idempotencyKey: `key-${id}`,
  status,
  reason: null,
  createdAt: at,
});

/*
 * Subscriptions (INR a month) and their payments:
 * S1: A1 starter 10000, Jun 5, active                  paid Jun 5 (in the window)
 * S2: A2 pro 25000, Jun 20, cancelled Jun 25           paid Jun 20
 * S3: A1 growth 14000, May 10, active                  paid May 10 (before the window)
 * S4: A1 growth 14000, May 1, cancelled May 20         paid May 1
 * S5: A1 starter 10000, Jun 2, cancelled Jun 15        paid Jun 2
 * plus a declined payment of 10000 on Jun 7 (no subscription, no revenue).
 */
const STARTER = plan('starter', 10000);
const GROWTH = plan('growth', 14000);
const PRO = plan('pro', 25000);
const SUBSCRIPTIONS = [
  subscription('S1', { agentId: A1, trialId: 'T1', plan: STARTER, at: d(5), cancelledAt: null }),
  subscription('S2', { agentId: A2, trialId: 'T6', plan: PRO, at: d(20), cancelledAt: d(25) }),
  subscription('S3', { agentId: A1, trialId: 'X3', plan: GROWTH, at: may(10), cancelledAt: null }),
  subscription('S4', { agentId: A1, trialId: 'X4', plan: GROWTH, at: may(1), cancelledAt: may(20) }),
  subscription('S5', { agentId: A1, trialId: 'X5', plan: STARTER, at: d(2), cancelledAt: d(15) }),
];
const PAYMENTS = [
  payment('pay-S1', 10000, d(5)),
  payment('pay-S2', 25000, d(20)),
  payment('pay-S3', 14000, may(10)),
  payment('pay-S4', 14000, may(1)),
  payment('pay-S5', 10000, d(2)),
  payment('pay-declined', 10000, d(7), 'DECLINED'),
];

/** Reviews of A1: 5 stars (Jun 6) and 2 stars (Jun 12) in the window, 1 star (May 1) before it. */
const review = (customerId: string, stars: number, at: Date) => ({
  _id: `${A1}|${customerId}`,
  agentId: A1,
  customerId,
  stars,
  comment: null,
  createdAt: at,
  updatedAt: at,
});
const REVIEWS = [review(C1, 5, d(6)), review(C2, 2, d(12)), review('cust-old', 1, may(1))];

const listing = (id: string, category: string) => ({
  _id: id,
  registered: true,
  category,
  handle: `h-${id}`,
});

const WINDOW = { since: SINCE, until: UNTIL };
const STAGES = `requested started firstDeliverable reachedDay7 activeAtDay7 converted cancelled expired open
  firstDeliverableRate day7Rate conversionRate cancellationRate`;
const FIGURES = 'revenueInr payments newSubscriptions activeSubscriptions monthlyRecurringInr';

describe('business figures (marketplace)', () => {
  let m: Harness;
  const operator = () => m.as('op-figures', ['operator']);

  beforeAll(async () => {
    m = await startMarketplace();
    const { models } = m;
    await Promise.all([
      models.trials.collection.insertMany(TRIALS as never[]),
      models.deliverables.collection.insertMany(DELIVERABLES as never[]),
      models.subscriptions.collection.insertMany(SUBSCRIPTIONS as never[]),
      models.payments.collection.insertMany(PAYMENTS as never[]),
      models.reviews.collection.insertMany(REVIEWS as never[]),
      models.listings.collection.insertMany([listing(A1, 'MARKETING'), listing(A2, 'SALES')] as never[]),
    ]);
  });
  afterAll(() => m.stop());

  it('reads the conversion funnel of the trials asked for in the window, per agent and category', async () => {
    const result = await operator()<{
      byAgent: {
        window: { since: string };
        total: Record<string, number>;
        groups: { agentId: string; category: string; stages: Record<string, number> }[];
      };
      byCategory: { groups: { category: string; agentId: string | null; stages: Record<string, number> }[] };
    }>(
      `query($since: DateTime, $until: DateTime) {
        byAgent: conversionFunnel(since: $since, until: $until, groupBy: AGENT) {
          window { since } total { ${STAGES} } groups { agentId category agent { id } stages { ${STAGES} } }
        }
        byCategory: conversionFunnel(since: $since, until: $until, groupBy: CATEGORY) {
          groups { category agentId stages { requested converted } }
        }
      }`,
      WINDOW,
    );
    expect(result.errors).toBeUndefined();
    const { byAgent, byCategory } = result.data!;
    // requested 6 (T1-T6; T7 is before the window); started 5 (not T5); first deliverable 4 (T1, T2, T4, T6);
    // reached day 7 by Jul 1: 4 (T1, T2, T3, T6; T4's is Jul 5); active at day 7: 3 (T1, T3, T6);
    // converted 2 (T1, T6), cancelled 1 (T2; T5 never started), expired 1 (T3), open 1 (T4).
    // Rates: 4/5 = 0.8, 3/4 = 0.75, 2/5 = 0.4, 1/5 = 0.2.
    expect(byAgent.total).toEqual({
      requested: 6,
      started: 5,
      firstDeliverable: 4,
      reachedDay7: 4,
      activeAtDay7: 3,
      converted: 2,
      cancelled: 1,
      expired: 1,
      open: 1,
      firstDeliverableRate: 0.8,
      day7Rate: 0.75,
      conversionRate: 0.4,
      cancellationRate: 0.2,
    });
    // A1: T1-T4 requested and started; delivered T1, T2, T4 = 3; reached T1, T2, T3 = 3, active T1, T3 = 2;
    // converted T1, cancelled T2, expired T3, open T4. Rates 3/4 = 0.75, 2/3 = 0.6667, 1/4 = 0.25 (both).
    expect(byAgent.groups.map((g) => [g.agentId, g.category])).toEqual([
      [A1, 'MARKETING'],
      [A2, 'SALES'],
    ]);
    expect(byAgent.groups[0]!.stages).toEqual({
      requested: 4,
      started: 4,
      firstDeliverable: 3,
      reachedDay7: 3,
      activeAtDay7: 2,
      converted: 1,
      cancelled: 1,
      expired: 1,
      open: 1,
      firstDeliverableRate: 0.75,
      day7Rate: 0.6667,
      conversionRate: 0.25,
      cancellationRate: 0.25,
    });
    // A2: T5 (never started) and T6 (converted): requested 2, converted 1, conversion 1/1 = 1.
    expect(byAgent.groups[1]!.stages).toMatchObject({
      requested: 2,
      started: 1,
      converted: 1,
      conversionRate: 1,
    });
    expect(byCategory.groups).toEqual([
      { category: 'MARKETING', agentId: null, stages: { requested: 4, converted: 1 } },
      { category: 'SALES', agentId: null, stages: { requested: 2, converted: 1 } },
    ]);
  });

  it('reads revenue in INR from the payments of the window and the subscriptions they paid for', async () => {
    const result = await operator()<{
      byAgent: {
        total: Record<string, number>;
        groups: { agentId: string; figures: Record<string, number> }[];
      };
      byPlan: { groups: { planId: string; planName: string; figures: Record<string, number> }[] };
      byCategory: { groups: { category: string; figures: { revenueInr: number } }[] };
    }>(
      `query($since: DateTime, $until: DateTime, $agent: ID) {
        byAgent: revenue(since: $since, until: $until) { total { ${FIGURES} } groups { agentId figures { ${FIGURES} } } }
        byPlan: revenue(since: $since, until: $until, groupBy: PLAN, agentId: $agent) {
          groups { planId planName figures { ${FIGURES} } }
        }
        byCategory: revenue(since: $since, until: $until, groupBy: CATEGORY) { groups { category figures { revenueInr } } }
      }`,
      { ...WINDOW, agent: A1 },
    );
    expect(result.errors).toBeUndefined();
    const { byAgent, byPlan, byCategory } = result.data!;
    // Paid in June: S1 10000 + S2 25000 + S5 10000 = 45000 over 3 payments (S3, S4 paid in May; the
    // declined one is no revenue). New in June: S1, S2, S5 = 3. Active on Jul 1: S1 and S3 = 2,
    // 10000 + 14000 = 24000 a month.
    expect(byAgent.total).toEqual({
      revenueInr: 45000,
      payments: 3,
      newSubscriptions: 3,
      activeSubscriptions: 2,
      monthlyRecurringInr: 24000,
    });
    // A2: 25000 (S2, cancelled: nothing recurring); A1: 10000 + 10000 = 20000, S1 + S3 recurring 24000.
    expect(byAgent.groups).toEqual([
      {
        agentId: A2,
        figures: {
          revenueInr: 25000,
          payments: 1,
          newSubscriptions: 1,
          activeSubscriptions: 0,
          monthlyRecurringInr: 0,
        },
      },
      {
        agentId: A1,
        figures: {
          revenueInr: 20000,
          payments: 2,
          newSubscriptions: 2,
          activeSubscriptions: 2,
          monthlyRecurringInr: 24000,
        },
      },
    ]);
    // A1's plans: starter (S1 + S5 paid 20000, both new, S1 active: 10000 a month); growth (S3 active:
    // 14000 a month, nothing paid or started in June; S4 ended in May).
    expect(byPlan.groups).toEqual([
      {
        planId: 'starter',
        planName: 'Starter',
        figures: {
          revenueInr: 20000,
          payments: 2,
          newSubscriptions: 2,
          activeSubscriptions: 1,
          monthlyRecurringInr: 10000,
        },
      },
      {
        planId: 'growth',
        planName: 'Growth',
        figures: {
          revenueInr: 0,
          payments: 0,
          newSubscriptions: 0,
          activeSubscriptions: 1,
          monthlyRecurringInr: 14000,
        },
      },
    ]);
    expect(byCategory.groups).toEqual([
      { category: 'SALES', figures: { revenueInr: 25000 } },
      { category: 'MARKETING', figures: { revenueInr: 20000 } },
    ]);
  });

  it("reads the marketplace's part of an agent's performance, at the root and as an entity", async () => {
    const fields =
      'agentId since until rating { average count } subscriptions retainedSubscriptions retentionRate';
    const root = await operator()<{ agentPerformance: Record<string, unknown> }>(
      `query($agent: ID!, $since: DateTime, $until: DateTime) { agentPerformance(agentId: $agent, since: $since, until: $until) { ${fields} } }`,
      { ...WINDOW, agent: A1 },
    );
    expect(root.errors).toBeUndefined();
    // Rating: reviews revised in June, 5 and 2 stars: (5 + 2) / 2 = 3.5 over 2 (the May one is out).
    // Retention: active in June S1, S3, S5 (S4 ended in May) = 3; still active on Jul 1 S1, S3 = 2; 2/3.
    const expected = {
      agentId: A1,
      rating: { average: 3.5, count: 2 },
      subscriptions: 3,
      retainedSubscriptions: 2,
      retentionRate: 0.6667,
    };
    expect(root.data!.agentPerformance).toMatchObject(expected);
    expect(new Date(root.data!.agentPerformance.since as string).toISOString()).toBe(SINCE);
    const entity = await operator()<{ _entities: Record<string, unknown>[] }>(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on AgentPerformance { ${fields} } } }`,
      { r: [{ __typename: 'AgentPerformance', agentId: A1, since: SINCE, until: UNTIL }] },
    );
    expect(entity.errors).toBeUndefined();
    expect(entity.data!._entities[0]).toMatchObject(expected);
  });

  it("gives a customer their own trials' deliverables, tasks and response times", async () => {
    const query = `query($since: DateTime, $until: DateTime, $customer: ID) {
      myFigures(since: $since, until: $until, customerId: $customer) {
        customerId trials deliverables tasks tasksCompleted averageResponseMs p50ResponseMs p95ResponseMs
        byTrial { trial { id } status deliverables tasks tasksCompleted tasksUnsuccessful tasksOpen
          averageResponseMs p50ResponseMs p95ResponseMs }
      }
    }`;
    type Figures = { myFigures: Record<string, unknown> & { byTrial: Record<string, unknown>[] } };
    const mine = await m.as(C1)<Figures>(query, WINDOW);
    expect(mine.errors).toBeUndefined();
    // C1's June trials, newest first: T4, T2, T1 (T7 is May's). Deliverables 1 + 1 + 2 = 4; tasks 2 each = 6;
    // completed 1 + 1 + 2 = 4 taking 90 s, 30 s, 60 s, 180 s. Sorted [30000, 60000, 90000, 180000]:
    // mean 360000 / 4 = 90000; p50 = rank ceil(2) = 2 -> 60000; p95 = rank ceil(3.8) = 4 -> 180000.
    expect(mine.data!.myFigures).toMatchObject({
      customerId: C1,
      trials: 3,
      deliverables: 4,
      tasks: 6,
      tasksCompleted: 4,
      averageResponseMs: 90000,
      p50ResponseMs: 60000,
      p95ResponseMs: 180000,
    });
    // T1: 2 completed, [60000, 180000]: mean 120000, p50 rank 1 -> 60000, p95 rank 2 -> 180000.
    // T2: 1 completed (30000) and 1 failed. T4: 1 completed (90000) and 1 still working.
    expect(mine.data!.myFigures.byTrial).toEqual([
      {
        trial: { id: 'T4' },
        status: 'ACTIVE',
        deliverables: 1,
        tasks: 2,
        tasksCompleted: 1,
        tasksUnsuccessful: 0,
        tasksOpen: 1,
        averageResponseMs: 90000,
        p50ResponseMs: 90000,
        p95ResponseMs: 90000,
      },
      {
        trial: { id: 'T2' },
        status: 'CANCELLED',
        deliverables: 1,
        tasks: 2,
        tasksCompleted: 1,
        tasksUnsuccessful: 1,
        tasksOpen: 0,
        averageResponseMs: 30000,
        p50ResponseMs: 30000,
        p95ResponseMs: 30000,
      },
      {
        trial: { id: 'T1' },
        status: 'CONVERTED',
        deliverables: 2,
        tasks: 2,
        tasksCompleted: 2,
        tasksUnsuccessful: 0,
        tasksOpen: 0,
        averageResponseMs: 120000,
        p50ResponseMs: 60000,
        p95ResponseMs: 180000,
      },
    ]);
    // Staff read the same figures by naming the customer.
    const staff = await operator()<Figures>(query, { ...WINDOW, customer: C1 });
    expect(staff.data!.myFigures).toEqual(mine.data!.myFigures);
  });

  it('refuses figures to whoever may not see them, with stable codes', async () => {
    const code = (r: { errors?: readonly { extensions?: Record<string, unknown> }[] }) =>
      r.errors?.[0]?.extensions?.code;
    const customer = m.as(C1);
    // A customer sees only their own trials' figures: not the operator figures, not another customer's.
    expect(code(await customer(`{ conversionFunnel { total { requested } } }`))).toBe('FORBIDDEN');
    expect(code(await customer(`{ revenue { total { revenueInr } } }`))).toBe('FORBIDDEN');
    expect(
      code(await customer(`query($a: ID!) { agentPerformance(agentId: $a) { retentionRate } }`, { a: A1 })),
    ).toBe('FORBIDDEN');
    expect(code(await customer(`query($c: ID) { myFigures(customerId: $c) { trials } }`, { c: C2 }))).toBe(
      'FORBIDDEN',
    );
    expect(
      code(
        await customer(
          `query($r: [_Any!]!) { _entities(representations: $r) { ... on AgentPerformance { retentionRate } } }`,
          {
            r: [{ __typename: 'AgentPerformance', agentId: A1, since: SINCE, until: UNTIL }],
          },
        ),
      ),
    ).toBe('FORBIDDEN');
    expect(code(await m.as('anon', null)(`{ myFigures { trials } }`))).toBe('UNAUTHENTICATED');
    // Staff must say whose figures; windows are bounded.
    expect(code(await operator()(`{ myFigures { trials } }`))).toBe('BAD_USER_INPUT');
    expect(
      code(
        await operator()(
          `{ conversionFunnel(since: "2023-01-01T00:00:00Z", until: "2025-01-01T00:00:00Z") { total { requested } } }`,
        ),
      ),
    ).toBe('BAD_USER_INPUT');
    expect(code(await operator()(`{ revenue(first: 0) { total { revenueInr } } }`))).toBe('BAD_USER_INPUT');
  });
});
