import type { TaskStatus, TrialStatus } from '@waooaw/shared';
import { FINAL_TASK_STATUSES, TRIAL_FIRST_DELIVERABLE } from '@waooaw/shared';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** The trial state machine: PROVISIONING -> ACTIVE -> EXPIRED | CANCELLED | CONVERTED. */
export const TRIAL_TRANSITIONS: Record<TrialStatus, readonly TrialStatus[]> = {
  PROVISIONING: ['ACTIVE', 'CANCELLED'],
  ACTIVE: ['EXPIRED', 'CANCELLED', 'CONVERTED'],
  // An expired trial can still be converted (the customer decides after the trial ended).
  EXPIRED: ['CONVERTED'],
  CANCELLED: [],
  CONVERTED: [],
};

export const canTransition = (from: TrialStatus, to: TrialStatus) => TRIAL_TRANSITIONS[from].includes(to);

/** The statuses a trial can move to `to` from. */
export const statusesLeadingTo = (to: TrialStatus): TrialStatus[] =>
  (Object.keys(TRIAL_TRANSITIONS) as TrialStatus[]).filter((from) => canTransition(from, to));

/** Trials that hold a customer's slot and the agent's capacity. */
export const RUNNING_TRIAL_STATUSES: readonly TrialStatus[] = ['PROVISIONING', 'ACTIVE'];
export const isRunning = (status: TrialStatus) => RUNNING_TRIAL_STATUSES.includes(status);

/** The value of the unique `activeKey` while a trial runs, and after it ended. */
export const runningKey = (customerId: string, agentId: string) => `${customerId}|${agentId}`;
export const endedKey = (trialId: string) => `ended|${trialId}`;

export const trialEndsAt = (startedAt: Date, trialDays: number) =>
  new Date(startedAt.getTime() + trialDays * DAY_MS);

/**
 * When the customer may trial the agent again after a trial that ran (started) and ended at
 * `endedAt`; null when nothing holds them back. Trials that never started (their set-up failed) do
 * not count.
 */
export function cooldownEndsAt(endedAt: Date | null, cooldownDays: number): Date | null {
  if (!endedAt || cooldownDays <= 0) return null;
  return new Date(endedAt.getTime() + cooldownDays * DAY_MS);
}

export interface Reminder {
  key: string;
  beforeEndMs: number;
  /** How the message says it. */
  label: string;
}

/** Reminders before a trial ends, furthest first. */
export const TRIAL_REMINDERS: readonly Reminder[] = [
  { key: '2d', beforeEndMs: 2 * DAY_MS, label: '2 days' },
  { key: '1d', beforeEndMs: DAY_MS, label: '1 day' },
  { key: '6h', beforeEndMs: 6 * HOUR_MS, label: '6 hours' },
];

/**
 * The reminders due now that were not sent: `announce` is the one to send (the nearest to the end,
 * so a sweep that was late sends one reminder, not a burst) and `due` every key to mark as sent.
 * Null when nothing is due or the trial has already ended.
 */
export function dueReminders(
  endsAt: Date,
  sent: readonly string[],
  now: Date,
): { announce: Reminder; due: string[] } | null {
  const left = endsAt.getTime() - now.getTime();
  if (left <= 0) return null;
  const due = TRIAL_REMINDERS.filter((r) => left <= r.beforeEndMs && !sent.includes(r.key));
  const announce = due.at(-1);
  return announce ? { announce, due: due.map((r) => r.key) } : null;
}

/** The capability a trial task uses when the customer names none: the first that is not a trial one. */
export function defaultTaskCapability(capabilities: readonly string[]): string | null {
  return capabilities.find((c) => !c.startsWith('trial.')) ?? capabilities[0] ?? null;
}

/** What a trial task's input is: the business context for the first deliverable, the request otherwise. */
export function trialTaskInput(
  capability: string,
  businessContext: Record<string, unknown>,
  request: string,
  details: Record<string, unknown> | null | undefined,
): Record<string, unknown> {
  if (capability === TRIAL_FIRST_DELIVERABLE) return { businessContext };
  return { request, businessContext, details: details ?? {} };
}

export const isFinalTaskStatus = (status: TaskStatus) => FINAL_TASK_STATUSES.includes(status);

/** The same day of the next month (the last day when the next month is shorter), same time. */
export function addOneMonth(date: Date): Date {
  const next = new Date(date.getTime());
  const day = next.getUTCDate();
  next.setUTCDate(1);
  next.setUTCMonth(next.getUTCMonth() + 1);
  const lastDay = new Date(Date.UTC(next.getUTCFullYear(), next.getUTCMonth() + 1, 0)).getUTCDate();
  next.setUTCDate(Math.min(day, lastDay));
  return next;
}

/** The trial task ids the marketplace chooses (so task.updated events can be matched to trials). */
export const trialTaskId = (trialId: string, suffix: string) => `trial.${trialId}.${suffix}`;
export const trialIdOfTask = (taskId: string): string | null => {
  const match = /^trial\.(.+)\.[^.]+$/.exec(taskId);
  return match?.[1] ?? null;
};
