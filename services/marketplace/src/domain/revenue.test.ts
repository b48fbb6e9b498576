import type { PaymentRow, SubscriptionRow } from './revenue';
import { revenueReport } from './revenue';

/*
 * Agents a1 and a2 (MARKETING) and a3 (SALES); amounts in whole INR.
 * Payments in the window:   a1 starter 2 x 10000 = 20000; a1 growth 1 x 14000; a3 pro 1 x 25000.
 * Subscriptions:            a1 starter: 2 new, 1 active (10000 a month);
 *                           a1 growth: 1 new, 1 active (14000); a2 basic: 0 new, 2 active (2 x 5000 = 10000);
 *                           a3 pro: 1 new, 0 active (cancelled in the window).
 * An unknown agent's row (no listing) is left out.
 */
const PAID: PaymentRow[] = [
  { agentId: 'a1', planId: 'starter', planName: 'Starter', revenueInr: 20000, payments: 2 },
  { agentId: 'a1', planId: 'growth', planName: 'Growth', revenueInr: 14000, payments: 1 },
  { agentId: 'a3', planId: 'pro', planName: 'Pro', revenueInr: 25000, payments: 1 },
  { agentId: 'gone', planId: 'x', planName: 'X', revenueInr: 999, payments: 1 },
];
const row = (agentId: string, planId: string, n: number, active: number, mrr: number): SubscriptionRow => ({
  agentId,
  planId,
  planName: planId,
  newSubscriptions: n,
  activeSubscriptions: active,
  monthlyRecurringInr: mrr,
});
const SUBSCRIBED: SubscriptionRow[] = [
  row('a1', 'starter', 2, 1, 10000),
  row('a1', 'growth', 1, 1, 14000),
  row('a2', 'basic', 0, 2, 10000),
  row('a3', 'pro', 1, 0, 0),
];
const CATEGORY = { a1: 'MARKETING', a2: 'MARKETING', a3: 'SALES' } as const;
const categoryOf = (id: string) => CATEGORY[id as keyof typeof CATEGORY] ?? null;

describe('revenue from subscriptions and payments', () => {
  it('totals and groups by agent as worked out by hand', () => {
    const report = revenueReport(PAID, SUBSCRIBED, categoryOf, 'AGENT', 10);
    // revenue 20000 + 14000 + 25000 = 59000 over 4 payments; new 2 + 1 + 0 + 1 = 4;
    // active 1 + 1 + 2 + 0 = 4; recurring 10000 + 14000 + 10000 + 0 = 34000.
    expect(report.total).toEqual({
      revenueInr: 59000,
      payments: 4,
      newSubscriptions: 4,
      activeSubscriptions: 4,
      monthlyRecurringInr: 34000,
    });
    // a1 = 34000 (3 payments, 3 new, 2 active, 24000 a month), a3 = 25000, a2 = 0 (10000 a month).
    expect(
      report.groups.map((g) => [g.agentId, g.category, g.figures.revenueInr, g.figures.monthlyRecurringInr]),
    ).toEqual([
      ['a1', 'MARKETING', 34000, 24000],
      ['a3', 'SALES', 25000, 0],
      ['a2', 'MARKETING', 0, 10000],
    ]);
    expect(report.groups[0]!.figures).toEqual({
      revenueInr: 34000,
      payments: 3,
      newSubscriptions: 3,
      activeSubscriptions: 2,
      monthlyRecurringInr: 24000,
    });
  });

  it('groups by category and by plan', () => {
    // MARKETING = a1 + a2 = 34000 revenue, 34000 recurring; SALES = a3 = 25000.
    const byCategory = revenueReport(PAID, SUBSCRIBED, categoryOf, 'CATEGORY', 10).groups;
    expect(
      byCategory.map((g) => [g.category, g.agentId, g.figures.revenueInr, g.figures.monthlyRecurringInr]),
    ).toEqual([
      ['MARKETING', null, 34000, 34000],
      ['SALES', null, 25000, 0],
    ]);
    // Plans: a3 pro 25000, a1 starter 20000, a1 growth 14000, a2 basic 0; the first two only.
    const byPlan = revenueReport(PAID, SUBSCRIBED, categoryOf, 'PLAN', 2).groups;
    expect(byPlan.map((g) => [g.agentId, g.planId, g.planName, g.figures.revenueInr])).toEqual([
      ['a3', 'pro', 'Pro', 25000],
      ['a1', 'starter', 'Starter', 20000],
    ]);
  });
});
