// Revenue figures from subscriptions and their payments, regrouped by agent, category or plan. Pure:
// figures.ts sums payments and subscriptions per agent and plan in MongoDB and hands the rows here.
import type { AgentCategory } from '../models/listing';

/** Successful payments for one agent's plan in the window (amounts in whole INR). */
export interface PaymentRow {
  agentId: string;
  planId: string;
  planName: string;
  revenueInr: number;
  payments: number;
}

/** One agent's plan's subscriptions: started in the window, and active at its end with their prices. */
export interface SubscriptionRow {
  agentId: string;
  planId: string;
  planName: string;
  newSubscriptions: number;
  activeSubscriptions: number;
  monthlyRecurringInr: number;
}

export interface RevenueFigures {
  revenueInr: number;
  payments: number;
  newSubscriptions: number;
  activeSubscriptions: number;
  monthlyRecurringInr: number;
}

export type RevenueGrouping = 'AGENT' | 'CATEGORY' | 'PLAN';

export interface RevenueGroupFigures {
  agentId: string | null;
  category: AgentCategory;
  planId: string | null;
  planName: string | null;
  figures: RevenueFigures;
}

const zero = (): RevenueFigures => ({
  revenueInr: 0,
  payments: 0,
  newSubscriptions: 0,
  activeSubscriptions: 0,
  monthlyRecurringInr: 0,
});

function addTo(into: RevenueFigures, row: Partial<RevenueFigures>): void {
  into.revenueInr += row.revenueInr ?? 0;
  into.payments += row.payments ?? 0;
  into.newSubscriptions += row.newSubscriptions ?? 0;
  into.activeSubscriptions += row.activeSubscriptions ?? 0;
  into.monthlyRecurringInr += row.monthlyRecurringInr ?? 0;
}

/**
 * The report's total and groups: each agent's plan's rows (payments and subscriptions) go into the
 * group of its agent, its agent's category or itself (PLAN), most revenue first (then most
 * recurring revenue, then key: a stable order), at most `first` groups. `categoryOf` names an agent's
 * category (its listing's); rows of agents it does not know are left out.
 */
export function revenueReport(
  payments: readonly PaymentRow[],
  subscriptions: readonly SubscriptionRow[],
  categoryOf: (agentId: string) => AgentCategory | null,
  groupBy: RevenueGrouping,
  first: number,
): { total: RevenueFigures; groups: RevenueGroupFigures[] } {
  const total = zero();
  const groups = new Map<string, RevenueGroupFigures>();
  for (const row of [...payments, ...subscriptions]) {
    const category = categoryOf(row.agentId);
    if (category === null) continue;
    addTo(total, row);
    const key =
      groupBy === 'CATEGORY' ? category : groupBy === 'AGENT' ? row.agentId : `${row.agentId}|${row.planId}`;
    let group = groups.get(key);
    if (!group) {
      group = {
        agentId: groupBy === 'CATEGORY' ? null : row.agentId,
        category,
        planId: groupBy === 'PLAN' ? row.planId : null,
        planName: groupBy === 'PLAN' ? row.planName : null,
        figures: zero(),
      };
      groups.set(key, group);
    }
    addTo(group.figures, row);
  }
  const ordered = [...groups.entries()]
    .sort(
      ([ka, a], [kb, b]) =>
        b.figures.revenueInr - a.figures.revenueInr ||
        b.figures.monthlyRecurringInr - a.figures.monthlyRecurringInr ||
        ka.localeCompare(kb),
    )
    .slice(0, first)
    .map(([, g]) => g);
  return { total, groups: ordered };
}
