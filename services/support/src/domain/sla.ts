import type { SupportTier, TicketStatus } from '@waooaw/shared';
import type { SlaTargetsMs, SlaVisitRecord, TicketState } from '../models/ticket';

/** The seeds' targets: L1 resolves 90% within a minute, L2 80% within 15 minutes, L3 all within 2 hours. */
export const SEED_TARGETS: Record<SupportTier, { resolutionRate: number; withinSeconds: number }> = {
  L1: { resolutionRate: 0.9, withinSeconds: 60 },
  L2: { resolutionRate: 0.8, withinSeconds: 900 },
  L3: { resolutionRate: 1, withinSeconds: 7200 },
};

/** Seconds (fractions allowed, so tests can use ~1 s) to whole milliseconds, at least 1. */
export const secondsToMs = (seconds: number) => Math.max(1, Math.round(seconds * 1000));

export function slaTargetsFromSeconds(seconds: Record<SupportTier, number>): SlaTargetsMs {
  return { L1: secondsToMs(seconds.L1), L2: secondsToMs(seconds.L2), L3: secondsToMs(seconds.L3) };
}

/** A new stay at a tier: its deadline is `target` from now. */
export function startVisit(tier: SupportTier, now: Date, targetMs: number): SlaVisitRecord {
  return {
    tier,
    enteredAt: now,
    targetMs,
    dueAt: new Date(now.getTime() + targetMs),
    firstResponseAt: null,
    endedAt: null,
    outcome: null,
    breachedAt: null,
    pausedAt: null,
    pausedMs: 0,
  };
}

/** Stops the clock (waiting on the customer); a no-op when already stopped. */
export function pauseVisit(visit: SlaVisitRecord, now: Date) {
  visit.pausedAt ??= now;
}

/** Starts the clock again: the deadline moves on by the time it stood still. */
export function resumeVisit(visit: SlaVisitRecord, now: Date) {
  if (!visit.pausedAt) return;
  const stood = Math.max(0, now.getTime() - visit.pausedAt.getTime());
  visit.pausedMs += stood;
  visit.dueAt = new Date(visit.dueAt.getTime() + stood);
  visit.pausedAt = null;
}

export function endVisit(visit: SlaVisitRecord, now: Date, outcome: 'RESOLVED' | 'ESCALATED') {
  resumeVisit(visit, now);
  visit.endedAt = now;
  visit.outcome = outcome;
  visit.firstResponseAt ??= outcome === 'RESOLVED' ? now : null;
}

const RUNNING: readonly TicketStatus[] = ['OPEN', 'IN_PROGRESS'];

/** The deadline the sweep watches: the current stay's, while it runs and has not been breached. */
export function slaDueAt(ticket: Pick<TicketState, 'sla' | 'status'>): Date | null {
  const visit = ticket.sla.at(-1);
  if (!visit || visit.endedAt || visit.breachedAt || visit.pausedAt) return null;
  return RUNNING.includes(ticket.status) ? visit.dueAt : null;
}

/** Whether the current stay has missed its deadline at `now` (and is not yet flagged). */
export function isBreached(ticket: Pick<TicketState, 'sla' | 'status'>, now: Date): boolean {
  const due = slaDueAt(ticket);
  return due !== null && due.getTime() <= now.getTime();
}
