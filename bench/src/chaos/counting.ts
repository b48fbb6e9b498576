/**
 * The chaos run's counting, kept free of I/O so every rule is unit-tested: which fault window a task
 * or message belongs to, what counts as lost, applied twice, missed or duplicated, and when the
 * platform counts as recovered. Times are wall-clock ms since the epoch (Kafka's timestamps are).
 */

/** The stretch of the run a fault owns: from its injection until the next one (the last: for ever). */
export interface FaultWindow {
  name: string;
  start: number;
  end: number;
}

/**
 * The windows of a run: `baseline` from the load's start to the first injection (the same load with
 * no fault, so a count there is the platform's own, not a fault's), then one per injection.
 */
export function faultWindows(loadStart: number, injections: { name: string; at: number }[]): FaultWindow[] {
  const sorted = [...injections].sort((a, b) => a.at - b.at);
  const windows: FaultWindow[] = [
    { name: 'baseline', start: loadStart, end: sorted[0]?.at ?? Number.POSITIVE_INFINITY },
  ];
  sorted.forEach((inj, i) =>
    windows.push({ name: inj.name, start: inj.at, end: sorted[i + 1]?.at ?? Number.POSITIVE_INFINITY }),
  );
  return windows;
}

/** Index of the window `at` falls in; before the first window counts as the first. */
export function windowIndex(windows: readonly FaultWindow[], at: number): number {
  for (let i = windows.length - 1; i >= 0; i--) if (at >= windows[i]!.start) return i;
  return 0;
}

/** How many of `times` fall in each window. */
export function countByWindow(windows: readonly FaultWindow[], times: Iterable<number>): number[] {
  const counts = windows.map(() => 0);
  for (const t of times) counts[windowIndex(windows, t)]! += 1;
  return counts;
}

const FINAL = new Set(['COMPLETED', 'FAILED', 'CANCELED', 'REJECTED']);

/**
 * What the platform's own topics say happened to each task: `orchestration.task.updated` (final
 * statuses, by envelope id) and `orchestration.attempt.finished` (attempt verdicts). A message read
 * twice (a redelivery, or a re-read after a consumer restart) keeps its envelope id and attempt
 * number, so it is counted once: only distinct effects count.
 */
export class TaskLedger {
  private readonly finals = new Map<string, { status: string; error: string | null; events: Set<string> }>();
  private readonly succeeded = new Map<string, Set<number>>();

  onUpdate(eventId: string, taskId: string, status: string, error: string | null = null): void {
    if (!FINAL.has(status)) return;
    const entry = this.finals.get(taskId) ?? { status, error, events: new Set<string>() };
    entry.events.add(eventId);
    this.finals.set(taskId, entry);
  }

  onAttempt(taskId: string, attempt: number, outcome: string): void {
    if (outcome !== 'SUCCEEDED') return;
    const set = this.succeeded.get(taskId) ?? new Set<number>();
    set.add(attempt);
    this.succeeded.set(taskId, set);
  }

  /** The first final status recorded, or null. */
  finalStatus(taskId: string): string | null {
    return this.finals.get(taskId)?.status ?? null;
  }

  /** The error its first final status carried (FAILED and REJECTED say why), or null. */
  finalError(taskId: string): string | null {
    return this.finals.get(taskId)?.error ?? null;
  }

  /**
   * Applied twice: the task reached a final status in two distinct events (two verdicts, e.g.
   * COMPLETED twice or COMPLETED then FAILED), or two distinct attempts both SUCCEEDED (the work ran
   * and was accepted twice).
   */
  appliedTwice(taskId: string): boolean {
    return (this.finals.get(taskId)?.events.size ?? 0) > 1 || (this.succeeded.get(taskId)?.size ?? 0) > 1;
  }
}

export interface TaskCounts {
  accepted: number;
  completed: number;
  failed: number;
  /** Accepted and never reached a final status. */
  lost: number;
  duplicates: number;
  /** A few ids of each, to look up in the logs. */
  lostSample: string[];
  duplicateSample: string[];
  /**
   * Why the tasks that did not complete failed: each distinct error, its numbers (a task number, an
   * attempt count, a duration) replaced by N so that one cause makes one row, and how many tasks it
   * ended. A fault should cost no task; this says which it did cost and how.
   */
  failedReasons: Record<string, number>;
}

const SAMPLE = 5;

/**
 * Per window: the tasks the platform accepted in it (the produce acknowledged or the mutation
 * answered: refused submissions are the client's to retry, not lost) and what became of each.
 */
export function countTasks(
  windows: readonly FaultWindow[],
  accepted: Iterable<[taskId: string, acceptedAt: number]>,
  ledger: TaskLedger,
): TaskCounts[] {
  const counts: TaskCounts[] = windows.map(() => ({
    accepted: 0,
    completed: 0,
    failed: 0,
    lost: 0,
    duplicates: 0,
    lostSample: [],
    duplicateSample: [],
    failedReasons: {},
  }));
  for (const [taskId, at] of accepted) {
    const c = counts[windowIndex(windows, at)]!;
    c.accepted++;
    const status = ledger.finalStatus(taskId);
    if (status === null) {
      c.lost++;
      if (c.lostSample.length < SAMPLE) c.lostSample.push(taskId);
    } else if (status === 'COMPLETED') c.completed++;
    else {
      c.failed++;
      const reason = `${status}: ${(ledger.finalError(taskId) ?? 'no error given').replace(/\d+/g, 'N')}`;
      c.failedReasons[reason] = (c.failedReasons[reason] ?? 0) + 1;
    }
    if (ledger.appliedTwice(taskId)) {
      c.duplicates++;
      if (c.duplicateSample.length < SAMPLE) c.duplicateSample.push(taskId);
    }
  }
  return counts;
}

/**
 * Business effects done twice for one request: `effects` maps a request's key (the customer who
 * started one trial, the trial converted once, the customer who opened one ticket) to the distinct
 * ids the platform's events recorded for it; more than one id is a duplicate. Attributed to the
 * window the request was made in (`requestedAt`).
 */
export function countEffectDuplicates(
  windows: readonly FaultWindow[],
  effects: ReadonlyMap<string, ReadonlySet<string>>,
  requestedAt: ReadonlyMap<string, number>,
): number[] {
  const counts = windows.map(() => 0);
  for (const [key, ids] of effects) {
    const at = requestedAt.get(key);
    if (at === undefined || ids.size < 2) continue; // not one of the run's requests
    counts[windowIndex(windows, at)]! += ids.size - 1;
  }
  return counts;
}

/** One message of the subscription's topic, as read from Kafka (the ground truth). */
export interface TopicMessage {
  partition: number;
  offset: number;
  timestamp: number;
  /** What the subscriber sees of it (the activity id). */
  id: string;
}

/** One event a subscriber received: its id, when, and the position its cursor carries. */
export interface ReceivedEvent {
  id: string;
  at: number;
  position: readonly number[];
}

export interface StreamComparison {
  /** Topic messages in the subscriber's range it never received. */
  missed: TopicMessage[];
  /** Receipts of a message the subscriber had already received (each extra receipt once). */
  duplicated: ReceivedEvent[];
  /** Received events no topic message matches (should not happen: a sign of a broken cursor). */
  unmatched: ReceivedEvent[];
}

const key = (partition: number, offset: number) => `${partition}:${offset}`;

/**
 * Compares what one subscriber received with the topic. A cursor's position is, per partition, the
 * next offset after the event, so an event is the message at `position[p] - 1` of the partition p
 * whose message there has the event's id: each receipt names exactly one message. The subscriber
 * owes every message from just after its first event (`received[0]`, which defines its start; it
 * is left out of both sides) up to `end` (next offset per partition, exclusive): the topic's end
 * when the subscriber was last seen caught up, as later events were never owed to it.
 */
export function compareStream(
  truth: readonly TopicMessage[],
  received: readonly ReceivedEvent[],
  end: readonly number[],
): StreamComparison {
  const byKey = new Map<string, TopicMessage>();
  for (const m of truth) byKey.set(key(m.partition, m.offset), m);
  const first = received[0];
  if (!first) return { missed: [], duplicated: [], unmatched: [] };
  const start = first.position;
  const inRange = (m: TopicMessage) =>
    m.offset >= (start[m.partition] ?? 0) && m.offset < (end[m.partition] ?? 0);
  const seen = new Set<string>();
  const duplicated: ReceivedEvent[] = [];
  const unmatched: ReceivedEvent[] = [];
  for (const r of received.slice(1)) {
    let match: TopicMessage | undefined;
    for (let p = 0; p < r.position.length && !match; p++) {
      const m = byKey.get(key(p, (r.position[p] ?? 0) - 1));
      if (m && m.id === r.id) match = m;
    }
    if (!match) {
      unmatched.push(r);
      continue;
    }
    const k = key(match.partition, match.offset);
    if (seen.has(k)) duplicated.push(r);
    else seen.add(k);
  }
  const missed = truth.filter((m) => inRange(m) && !seen.has(key(m.partition, m.offset)));
  return { missed, duplicated, unmatched };
}

/** The position a feed cursor carries (its body is base64url JSON `{ v, i, o }`; the signature is not checked). */
export function cursorPosition(cursor: string): number[] | null {
  const [encoded] = cursor.split('.');
  if (!encoded) return null;
  try {
    const body = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as { o?: unknown };
    return Array.isArray(body.o) && body.o.every((o) => Number.isSafeInteger(o))
      ? (body.o as number[])
      : null;
  } catch {
    return null;
  }
}

/**
 * When the platform counts as recovered from a fault injected at `injectedAt` whose action ended at
 * `actionDone` (the killed process relaunched, the frozen one thawed, the old replica stopped):
 * the first moment both (a) a task submitted at or after the injection has completed end to end,
 * and (b) a readiness check made at or after `actionDone` found every process ready. Null until then.
 */
export function recoveredAt(
  injectedAt: number,
  actionDone: number,
  readyChecks: readonly { at: number; allReady: boolean }[],
  completions: readonly { submittedAt: number; completedAt: number }[],
): number | null {
  let completed = Number.POSITIVE_INFINITY;
  for (const c of completions)
    if (c.submittedAt >= injectedAt) completed = Math.min(completed, c.completedAt);
  let ready = Number.POSITIVE_INFINITY;
  for (const r of readyChecks) if (r.at >= actionDone && r.allReady) ready = Math.min(ready, r.at);
  const at = Math.max(completed, ready);
  return Number.isFinite(at) ? at : null;
}
