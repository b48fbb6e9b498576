import type {
  AttemptOutcome,
  Candidate,
  EventBus,
  EventConsumer,
  InstanceView,
  Logger,
  OutboxEntry,
  OutboxRelay,
  TaskOutput,
  TaskStatus,
} from '@waooaw/shared';
import {
  continuedTrace,
  createBalancerPool,
  createInsertBatcher,
  eligibleCandidates,
  FINAL_TASK_STATUSES,
  isDuplicateKey,
  orchestrationEvents,
  outboxClaim,
  outboxEntry,
  RevisionConflictError,
  taskAssignedTo,
  updateWithRevision,
  writeWithRevision,
} from '@waooaw/shared';
import type { mongo } from 'mongoose';
import type { AgingPolicy } from './domain';
import { Backlog, createSilenceJudge, decideAttemptEnd, poolKey } from './domain';
import type { AttemptRecord, TaskModel, TaskRecord } from './models/task';
import { taskCollection } from './models/task';
import type { InstanceReplica } from './replica';

export interface EngineOptions {
  tasks: TaskModel;
  replica: InstanceReplica;
  bus: Pick<EventBus, 'source'>;
  relay?: OutboxRelay;
  logger: Logger;
  aging: AgingPolicy;
  /** How often the dispatcher looks at the queue without being woken (retries coming due). */
  tickMs: number;
  now?: () => number;
}

/**
 * What the dispatcher keeps of a queued task: enough to order it, match it to instances and count
 * it, never its input (read from the database when it is handed out), so a backlog costs a few
 * hundred bytes a task however large the inputs are.
 */
export type QueuedEntry = Pick<
  TaskRecord,
  | '_id'
  | 'capability'
  | 'versionRange'
  | 'agentHandle'
  | 'strategy'
  | 'priority'
  | 'customerId'
  | 'avoidInstanceIds'
  | 'deadline'
  | 'createdAt'
  | 'nextAttemptAt'
>;

/** How often, and after how long unchanged, tasks no process looks after are taken up (adoptOrphans). */
const ORPHAN_SWEEP_MS = 10_000;
/** Orphans taken up per sweep (a large leftover backlog is taken over several sweeps). */
const ORPHAN_BATCH = 1000;
/** How often a result or a cancel is decided again when another write of the task got in first. */
const TASK_WRITE_ATTEMPTS = 5;

/**
 * A result or a cancel that kept losing to other writes of the task gives up without an error, as
 * they always have: an attempt whose result was never applied is ended by the timeout sweep, and a
 * cancel answers with the task as it is.
 */
const givenUpOnContention = (err: unknown): null => {
  if (err instanceof RevisionConflictError) return null;
  throw err;
};

/** The fields of a QueuedEntry, as a projection (the start-up load reads only these). */
const QUEUED_FIELDS = {
  capability: 1,
  versionRange: 1,
  agentHandle: 1,
  strategy: 1,
  priority: 1,
  customerId: 1,
  avoidInstanceIds: 1,
  deadline: 1,
  createdAt: 1,
  nextAttemptAt: 1,
} as const;

const toQueued = (t: QueuedEntry): QueuedEntry => ({
  _id: t._id,
  capability: t.capability,
  versionRange: t.versionRange,
  agentHandle: t.agentHandle,
  strategy: t.strategy,
  priority: t.priority,
  customerId: t.customerId,
  avoidInstanceIds: t.avoidInstanceIds,
  deadline: t.deadline,
  createdAt: t.createdAt,
  nextAttemptAt: t.nextAttemptAt,
});

/**
 * A running task as the engine caches it: without its input and outbox (the assignment event
 * carries the input too), which no later write of the attempt needs: `write` only sets the fields
 * that changed, and these are carried over unchanged.
 */
const toWorking = (t: TaskRecord): TaskRecord => ({ ...t, input: null, outbox: [] });

/** The task ended (not by an attempt's result) with `status`, for `reason`. */
const endedAs = (
  task: TaskRecord,
  status: 'FAILED' | 'CANCELED',
  reason: string,
  now: number,
): TaskRecord => ({
  ...task,
  status,
  error: reason,
  completedAt: new Date(now),
  updatedAt: new Date(now),
});

/** A task reached a final status: workflows and sagas move on. */
export type FinalListener = (task: TaskRecord) => Promise<void>;

export const isFinal = (status: TaskStatus) => FINAL_TASK_STATUSES.includes(status);

/**
 * The task engine: the priority queue, dispatch to instances with free concurrency, attempt results,
 * timeouts and retries. Every state change is one conditional write of the task document (guarded by
 * its revision) that carries its events in the document's outbox, so a crash between the write and
 * the publish loses nothing, and a result Kafka delivers twice is applied once.
 */
export function createTaskEngine(options: EngineOptions) {
  const { tasks, replica, bus, logger } = options;
  const raw = taskCollection(tasks);
  const read = (id: string) => raw.findOne({ _id: id });
  // New tasks accepted at about the same moment (the submit commands of one Kafka batch) are stored
  // with one insertMany: one MongoDB command per batch rather than per task.
  const inserts = createInsertBatcher(raw);
  const clock = options.now ?? Date.now;
  /** What the dispatcher needs of each queued task (not its input). */
  const backlog = new Backlog<QueuedEntry>(options.aging);
  /** Attempts running per instance: dispatch only while an instance has free concurrency. */
  const inFlight = new Map<string, number>();
  /**
   * Tasks with an attempt running, as last written (or, after a restart, read): results are applied
   * to them without reading the task again, and the timeout sweep looks here rather than querying.
   * The revision guard of every write still decides; a stale entry only costs a re-read.
   */
  const working = new Map<string, TaskRecord>();
  const balancers = createBalancerPool();
  const finalListeners: FinalListener[] = [];
  /** Whether results wait unread now (see hearResultsFrom); the sweep does not time out meanwhile. */
  let resultsHeld = (): boolean => false;
  const silence = createSilenceJudge();
  let timer: NodeJS.Timeout | undefined;
  let dispatching: Promise<void> | undefined;
  let again = false;
  let running = false;

  const busy = (instanceId: string, delta: number) => {
    const count = Math.max(0, (inFlight.get(instanceId) ?? 0) + delta);
    // Instances come and go (every runtime restart makes new ones): idle ones leave the map.
    if (count === 0) inFlight.delete(instanceId);
    else inFlight.set(instanceId, count);
  };

  const updatedEvent = (t: TaskRecord, at: number) =>
    outboxEntry(
      bus,
      orchestrationEvents.taskUpdated,
      {
        taskId: t._id,
        status: t.status,
        capability: t.capability,
        priority: t.priority,
        attempts: t.attempts.length,
        instanceId: t.attempts.at(-1)?.instanceId ?? null,
        agentId: t.agentId,
        agentHandle: t.attempts.at(-1)?.handle ?? null,
        customerId: t.customerId,
        workflowId: t.workflowId,
        sagaId: t.saga?.sagaId ?? null,
        durationMs: t.attempts.at(-1)?.durationMs ?? null,
        error: t.error,
        output: t.status === 'COMPLETED' ? t.output : null,
        at: new Date(at).toISOString(),
      },
      { subject: t._id, ...continuedTrace(t) },
    );

  const attemptEvent = (t: TaskRecord, a: AttemptRecord) =>
    outboxEntry(
      bus,
      orchestrationEvents.attemptFinished,
      {
        taskId: t._id,
        attempt: a.number,
        instanceId: a.instanceId,
        agentId: a.agentId,
        capability: t.capability,
        outcome: a.outcome ?? 'FAILED',
        durationMs: a.durationMs ?? 0,
        ...(a.error ? { error: a.error } : {}),
        at: (a.endedAt ?? new Date()).toISOString(),
      },
      { subject: a.instanceId, ...continuedTrace(t) },
    );

  /**
   * The update that makes `current` `next` (both the task's state), with the events it causes. Only
   * what changed is set: `next` is `current` with some fields replaced, so the others are the same
   * objects (a task's input and spec are not rewritten on every state change).
   */
  function taskUpdate(
    current: TaskRecord,
    next: TaskRecord,
    events: OutboxEntry[],
  ): mongo.UpdateFilter<TaskRecord> {
    const {
      _id: _i,
      outbox: _o,
      outboxLockedUntil: _l,
      appliedEventIds: _a,
      rev: _r,
      createdAt: _c,
      ...fields
    } = next;
    void [_i, _o, _l, _a, _r, _c];
    const changed: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fields))
      if (v !== (current as unknown as Record<string, unknown>)[k]) changed[k] = v;
    return {
      // The events are published by this process right after the write (publishWritten); the claim
      // keeps the relay's scan off them unless this process dies first.
      $set: events.length > 0 ? { ...changed, outboxLockedUntil: outboxClaim() } : changed,
      $push: { outbox: { $each: events } },
    };
  }

  /**
   * Sets what this process knows of a task's running attempt (`task` as last written or read; null:
   * gone). `working` and the per-instance counts change only here, together: a task that stops
   * running here by any path (its result, a timeout, a cancel, a write whose answer MongoDB never
   * sent, another process finishing it) frees its slot exactly once, and one this process takes up
   * (a restart, an orphan) takes one. Before, each path freed the slot itself, and the paths where
   * this process learned of the end only by reading (a write applied but unanswered when MongoDB
   * was killed) freed none: the instance looked busier than it was for good.
   */
  function track(id: string, task: TaskRecord | null) {
    const before = working.get(id);
    const after = task?.status === 'WORKING' ? toWorking(task) : undefined;
    const slotOf = (t: TaskRecord | undefined) => t?.attempts.at(-1)?.instanceId;
    const sameAttempt =
      before !== undefined &&
      after !== undefined &&
      before.attempts.length === after.attempts.length &&
      slotOf(before) === slotOf(after);
    if (!sameAttempt) {
      const freed = slotOf(before);
      if (freed) busy(freed, -1);
      const taken = slotOf(after);
      if (taken) busy(taken, 1);
    }
    if (after) working.set(id, after);
    else working.delete(id);
  }

  /** Once `next` is written over `current`: its events go out, and the running attempts know it. */
  function afterWrite(current: TaskRecord, next: TaskRecord, events: OutboxEntry[]): TaskRecord {
    options.relay?.publishWritten(tasks, next._id, events);
    const written = { ...next, rev: current.rev + 1 };
    track(written._id, written);
    return written;
  }

  /**
   * Writes the next state of a task if nobody changed it since `current` was read; returns the new
   * state, or null when it lost the race (the caller reads again or lets the other writer win).
   */
  async function write(
    current: TaskRecord,
    next: TaskRecord,
    events: OutboxEntry[],
  ): Promise<TaskRecord | null> {
    if (!(await writeWithRevision(tasks, current, taskUpdate(current, next, events)))) return null;
    return afterWrite(current, next, events);
  }

  async function notifyFinal(task: TaskRecord) {
    for (const listener of finalListeners) {
      await listener(task).catch((err: unknown) =>
        logger.error(
          { err, taskId: task._id },
          'a listener of finished tasks failed; the reconciler retries it',
        ),
      );
    }
  }

  function enqueue(full: QueuedEntry) {
    backlog.add(toQueued(full));
    wake();
  }

  /** How an attempt ends: the task completes, is rejected, is retried later, or fails for good. */
  function attemptEnd(
    current: TaskRecord,
    outcome: AttemptOutcome,
    details: { output?: TaskOutput; error?: string; durationMs: number },
  ): { next: TaskRecord; events: OutboxEntry[] } {
    const now = clock();
    const last = current.attempts.at(-1)!;
    const attempt: AttemptRecord = {
      ...last,
      endedAt: new Date(now),
      outcome,
      durationMs: Math.round(details.durationMs),
      error: details.error ?? null,
    };
    const attempts = [...current.attempts.slice(0, -1), attempt];
    const base: TaskRecord = { ...current, attempts, updatedAt: new Date(now) };
    const decision = decideAttemptEnd(
      {
        outcome,
        error: details.error,
        attempts: attempts.length,
        instanceId: last.instanceId,
        task: current,
      },
      now,
    );
    let next: TaskRecord;
    switch (decision.status) {
      case 'COMPLETED':
        next = {
          ...base,
          status: 'COMPLETED',
          output: details.output ?? null,
          error: null,
          completedAt: new Date(now),
        };
        break;
      case 'SUBMITTED':
        next = {
          ...base,
          status: 'SUBMITTED',
          error: details.error ?? null,
          nextAttemptAt: new Date(now + decision.delayMs),
          lastDelayMs: decision.delayMs,
          avoidInstanceIds: decision.avoidInstanceIds,
        };
        break;
      case 'REJECTED':
      case 'FAILED':
        next = { ...base, status: decision.status, error: decision.error, completedAt: new Date(now) };
    }
    return { next, events: [attemptEvent(next, attempt), updatedEvent(next, now)] };
  }

  /** After an ended attempt is written (its slot freed by afterWrite): queued again, or final. */
  async function attemptEnded(written: TaskRecord) {
    if (written.status === 'SUBMITTED') enqueue(written);
    else await notifyFinal(written);
    wake();
  }

  /** Ends an attempt unless the task changed since `current` was read. */
  async function finishAttempt(
    current: TaskRecord,
    outcome: AttemptOutcome,
    details: { error?: string; durationMs: number },
  ): Promise<void> {
    const { next, events } = attemptEnd(current, outcome, details);
    const written = await write(current, next, events);
    if (written) await attemptEnded(written);
  }

  /** Picks an instance for a task among those with free concurrency, or null to keep it queued. */
  function candidatesOf(task: QueuedEntry) {
    const offering = replica
      .offering(task.capability, task.versionRange, task.agentHandle)
      .filter((v) => v.inbox && v.runtimeId);
    return (avoid: boolean) =>
      offering
        .filter((v) => !avoid || !task.avoidInstanceIds.includes(v.instanceId))
        .map((v): Candidate => ({
          id: v.instanceId,
          weight: v.weight,
          health: v.health,
          circuit: v.circuit,
          inFlight: inFlight.get(v.instanceId) ?? 0,
          capacity: v.concurrency,
        }));
  }

  /** Whether any instance could take a task of this pool now (healthy, closed, with a free slot). */
  const poolHasRoom = (sample: QueuedEntry) => eligibleCandidates(candidatesOf(sample)(false)).length > 0;

  function choose(task: QueuedEntry) {
    const toCandidate = candidatesOf(task);
    // A retry goes to another instance when one can take it; else the same one is better than none.
    let candidates = toCandidate(true);
    if (eligibleCandidates(candidates).length === 0) candidates = toCandidate(false);
    const key = poolKey(task);
    const picked = balancers.get(key, task.strategy).pick(candidates);
    return picked ? replica.get(picked.id)! : null;
  }

  /** The WORKING state of a task handed to `instance` now, with the assignment and the update it announces. */
  function attemptOn(task: TaskRecord, instance: InstanceView, now: number) {
    const attempt: AttemptRecord = {
      number: task.attempts.length + 1,
      instanceId: instance.instanceId,
      runtimeId: instance.runtimeId!,
      agentId: instance.agentId,
      handle: instance.handle,
      startedAt: new Date(now),
      endedAt: null,
      outcome: null,
      durationMs: null,
      error: null,
    };
    const next: TaskRecord = {
      ...task,
      status: 'WORKING',
      attempts: [...task.attempts, attempt],
      agentId: instance.agentId ?? task.agentId,
      updatedAt: new Date(now),
    };
    const assignment = outboxEntry(
      bus,
      taskAssignedTo(instance.runtimeId!),
      {
        taskId: task._id,
        attempt: attempt.number,
        instanceId: instance.instanceId,
        capability: task.capability,
        input: task.input,
        timeoutMs: task.timeoutMs,
      },
      { subject: task._id, key: instance.instanceId, ...continuedTrace(task) },
    );
    return { next, events: [assignment, updatedEvent(next, now)] };
  }

  /**
   * Hands out what can start now. The instances are picked from the queue's entries; the tasks
   * themselves (with their inputs) are read in one query per pass, and the writes of the pass go
   * to the database together.
   */
  async function dispatchOnce(): Promise<void> {
    const now = clock();
    for (const task of backlog.overdue(now)) {
      backlog.remove(task._id);
      await failQueued(
        task._id,
        `the deadline ${task.deadline!.toISOString()} passed before an agent could run it`,
      );
    }
    const roomy = new Set(
      backlog
        .samples()
        .filter(([, sample]) => poolHasRoom(sample))
        .map(([key]) => key),
    );
    if (roomy.size === 0) return;
    // Every ready task of a pool with room is looked at, so work an instance can take never starves
    // behind older tasks nobody can run; a pass starts at most 1000.
    const picks: { task: QueuedEntry; instance: InstanceView }[] = [];
    for (const { task, pool } of backlog.ready(now)) {
      if (picks.length >= 1000 || roomy.size === 0) break;
      if (!roomy.has(pool)) continue;
      const instance = choose(task);
      if (!instance) {
        // Tasks of one pool wait together: once one found no free instance, so do the rest.
        roomy.delete(pool);
        continue;
      }
      backlog.remove(task._id);
      busy(instance.instanceId, 1);
      picks.push({ task, instance });
    }
    if (picks.length === 0) return;
    let stored: Map<string, TaskRecord>;
    try {
      const found = await raw.find({ _id: { $in: picks.map((p) => p.task._id) } }).toArray();
      stored = new Map(found.map((t) => [t._id, t as TaskRecord]));
    } catch (err) {
      // Nothing was handed out: the picks go back to the queue for the next pass.
      for (const { task, instance } of picks) {
        busy(instance.instanceId, -1);
        enqueue(task);
      }
      throw err;
    }
    // Each pick holds its slot until its write settles; a written attempt holds its own (track).
    // A write that failed leaves the task to the orphan sweep, which finds it queued or running.
    const writes = picks.map(async ({ task: entry, instance }) => {
      try {
        const task = stored.get(entry._id);
        // Canceled or finished since it was queued (or gone): nothing to hand out.
        if (task?.status !== 'SUBMITTED') return;
        const { next, events } = attemptOn(task, instance, now);
        const written = await write(task, next, events);
        if (!written) {
          // Changed meanwhile (canceled, or another writer): read it again and requeue if still waiting.
          const fresh = await read(task._id);
          if (fresh?.status === 'SUBMITTED') enqueue(fresh);
        }
      } finally {
        busy(instance.instanceId, -1);
      }
    });
    const settled = await Promise.allSettled(writes);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async function failQueued(id: string, reason: string) {
    const task = await read(id);
    if (task?.status !== 'SUBMITTED') return;
    const now = clock();
    const next = endedAs(task, 'FAILED', reason, now);
    const written = await write(task, next, [updatedEvent(next, now)]);
    if (written) await notifyFinal(written);
  }

  /** Runs the dispatcher; calls while it runs make it run once more after. */
  function wake() {
    if (!running) return;
    if (dispatching) {
      again = true;
      return;
    }
    dispatching = (async () => {
      do {
        again = false;
        await dispatchOnce();
      } while (again);
    })()
      .catch((err: unknown) => logger.error({ err }, 'dispatch failed; retrying at the next tick'))
      .finally(() => {
        dispatching = undefined;
      });
  }

  /**
   * The SUBMITTED tasks `filter` matches (at most `limit`), streamed, with only the fields the queue
   * keeps: a backlog's inputs are never all in memory.
   */
  const submittedTasks = (filter: mongo.Filter<TaskRecord>, limit?: number) =>
    raw.find<QueuedEntry>(
      { status: 'SUBMITTED', ...filter },
      { projection: QUEUED_FIELDS, ...(limit ? { limit } : {}) },
    );

  /** The WORKING tasks `filter` matches (at most `limit`), as `working` keeps them (no input, no outbox). */
  const workingTasks = async (filter: mongo.Filter<TaskRecord>, limit?: number) =>
    (
      await raw
        .find(
          { status: 'WORKING', ...filter },
          { projection: { input: 0, outbox: 0 }, ...(limit ? { limit } : {}) },
        )
        .toArray()
    ).map(toWorking);

  let lastAdoption = 0;
  /**
   * Takes up tasks no process is looking after: the queue and the running attempts live in the memory
   * of the process that stored or dispatched them, and the database is read whole only at start. A
   * task stays orphaned when that process is gone and none has started since (the old process of a
   * rolling restart leaves its queue behind), or when a write reached MongoDB but its answer did not
   * (MongoDB killed in between: the submitter saw an error, the task is stored SUBMITTED). So every
   * ORPHAN_SWEEP_MS, tasks unchanged for that long that this process neither queues nor runs are
   * taken up: queued ones queued here, running ones watched for their timeout. Two processes may both
   * take one up; every write is revision-guarded, so only one dispatches or times it out.
   */
  async function adoptOrphans() {
    const before = new Date(clock() - ORPHAN_SWEEP_MS);
    const stale = { updatedAt: { $lt: before } };
    for await (const t of submittedTasks(stale, ORPHAN_BATCH)) if (!backlog.has(t._id)) enqueue(t);
    for (const t of await workingTasks(stale, ORPHAN_BATCH)) if (!working.has(t._id)) track(t._id, t);
  }

  /** Attempts silent past their timeout are failed as TIMED_OUT (and retried). */
  async function sweepTimeouts() {
    const now = clock();
    // Not while results cannot be heard, nor until those that waited are read (domain/silence.ts).
    if (!silence.meaningful(now, resultsHeld())) return;
    for (const t of [...working.values()]) {
      const last = t.attempts.at(-1);
      if (!last || last.startedAt.getTime() + t.timeoutMs > now) continue;
      const current = await read(t._id);
      if (current?.status !== 'WORKING' || current.attempts.length !== last.number) {
        // Finished or retried elsewhere (another process, or a write whose answer this one lost).
        track(t._id, current);
        continue;
      }
      await finishAttempt(current, 'TIMED_OUT', {
        error: `no result within ${current.timeoutMs} ms`,
        durationMs: now - last.startedAt.getTime(),
      });
    }
  }

  /**
   * Stores a new task (already validated) and queues it; returns it as stored. With `dispatchNow`, a
   * task that nothing waiting is ahead of and that an instance can take at once is stored already
   * handed out (one write instead of two, and no wait for the next dispatch pass); its events are
   * the same, SUBMITTED then WORKING.
   */
  async function accept(task: TaskRecord, options_: { dispatchNow?: boolean } = {}): Promise<TaskRecord> {
    const now = clock();
    const submitted = updatedEvent(task, now);
    let stored: TaskRecord = { ...task, outbox: [submitted] };
    const instance =
      options_.dispatchNow && running && task.status === 'SUBMITTED' && backlog.size === 0
        ? choose(task)
        : null;
    if (instance) {
      const { next, events } = attemptOn(task, instance, now);
      stored = { ...next, outbox: [submitted, ...events] };
      // Held while the insert is in flight; once stored, the attempt holds its own (track).
      busy(instance.instanceId, 1);
    }
    stored.outboxLockedUntil = outboxClaim(now);
    try {
      await inserts.insert(stored);
    } finally {
      if (instance) busy(instance.instanceId, -1);
    }
    options.relay?.publishWritten(tasks, stored._id, stored.outbox);
    if (stored.status === 'WORKING') track(stored._id, stored);
    else if (stored.status === 'SUBMITTED') enqueue(stored);
    else await notifyFinal(stored);
    return stored;
  }

  return {
    onFinal(listener: FinalListener) {
      finalListeners.push(listener);
    },

    accept,

    /**
     * The consumer that applies runtimes' results (onResult): while it waits out an outage, their
     * results wait too, and no attempt is timed out (see domain/silence.ts).
     */
    hearResultsFrom(consumer: Pick<EventConsumer, 'waiting'>) {
      resultsHeld = () => consumer.waiting().length > 0;
    },

    /** Stores a task with a fixed id unless an earlier pass (or a run before a restart) already did. */
    async acceptOnce(task: TaskRecord): Promise<void> {
      try {
        await accept(task, { dispatchNow: true });
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
    },

    /** A runtime's result for an attempt; duplicates and late results (an attempt already ended) are ignored. */
    async onResult(
      result: {
        taskId: string;
        attempt: number;
        outcome: AttemptOutcome;
        output?: TaskOutput;
        error?: string;
        durationMs: number;
      },
      eventId: string,
    ): Promise<void> {
      const outcome = await updateWithRevision(
        tasks,
        result.taskId,
        (current) => {
          if (current.status !== 'WORKING' || current.attempts.length !== result.attempt) return null;
          const { next, events } = attemptEnd(current, result.outcome, {
            ...(result.output ? { output: result.output } : {}),
            ...(result.error ? { error: result.error } : {}),
            durationMs: result.durationMs,
          });
          return { update: taskUpdate(current, next, events), value: { next, events } };
        },
        { known: working.get(result.taskId), eventId, attempts: TASK_WRITE_ATTEMPTS },
      ).catch(givenUpOnContention);
      if (outcome?.written)
        await attemptEnded(afterWrite(outcome.current, outcome.value.next, outcome.value.events));
      // Not written, for a task this process runs: what is stored says whether the attempt still runs
      // (a duplicate result) or ended by a write whose answer was lost. Then its slot is freed now,
      // and a retry it scheduled is queued here rather than left to the orphan sweep.
      else if (outcome && working.has(result.taskId)) {
        const stored = outcome.current;
        track(result.taskId, stored);
        if (stored?.status === 'SUBMITTED' && !backlog.has(stored._id)) enqueue(stored);
        wake();
      }
    },

    async cancel(id: string, reason: string): Promise<TaskRecord | null> {
      const outcome = await updateWithRevision(
        tasks,
        id,
        (current) => {
          if (isFinal(current.status)) return null;
          const now = clock();
          const next = endedAs(current, 'CANCELED', reason, now);
          const events = [updatedEvent(next, now)];
          return { update: taskUpdate(current, next, events), value: { next, events } };
        },
        { attempts: TASK_WRITE_ATTEMPTS },
      ).catch(givenUpOnContention);
      if (!outcome) return read(id);
      if (!outcome.written) return outcome.current;
      const { current } = outcome;
      // afterWrite frees a running attempt's slot; the runtime may still finish it, and its result is
      // then ignored.
      const written = afterWrite(current, outcome.value.next, outcome.value.events);
      backlog.remove(id);
      await notifyFinal(written);
      wake();
      return written;
    },

    /** Loads what a previous run left: queued tasks into the queue, running attempts into the counts. */
    async start() {
      for await (const t of submittedTasks({})) enqueue(t);
      const inProgress = await workingTasks({});
      for (const t of inProgress) track(t._id, t);
      lastAdoption = clock();
      running = true;
      replica.onChange(wake);
      let sweeping = false;
      timer = setInterval(() => {
        wake();
        if (sweeping) return;
        sweeping = true;
        const adopt = clock() - lastAdoption >= ORPHAN_SWEEP_MS;
        if (adopt) lastAdoption = clock();
        (adopt ? adoptOrphans().then(sweepTimeouts) : sweepTimeouts())
          .catch((err: unknown) => logger.error({ err }, 'timeout sweep failed'))
          .finally(() => (sweeping = false));
      }, options.tickMs);
      logger.info({ queued: backlog.size, working: inProgress.length }, 'task engine started');
      wake();
    },

    async stop() {
      running = false;
      clearInterval(timer);
      await dispatching;
    },

    queued: () => backlog.size,
    /** What the queue holds of each queued task (tests check it holds no inputs). */
    queuedEntries: (): readonly QueuedEntry[] => backlog.all(),
    /** Sizes of the engine's in-memory maps, to see that none grows without bound. */
    memory: () => ({
      queued: backlog.size,
      working: working.size,
      instances: inFlight.size,
      balancers: balancers.size,
      pools: backlog.poolCount,
    }),
    isRunning: () => running,
  };
}

export type TaskEngine = ReturnType<typeof createTaskEngine>;
