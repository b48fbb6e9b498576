import type {
  AttemptOutcome,
  Candidate,
  EventBus,
  LoadBalancer,
  Logger,
  OutboxEntry,
  OutboxRelay,
  TaskOutput,
  TaskStatus,
} from '@waooaw/shared';
import {
  backoffDelay,
  createLoadBalancer,
  eligibleCandidates,
  FINAL_TASK_STATUSES,
  orchestrationEvents,
  outboxEntry,
  taskAssignedTo,
} from '@waooaw/shared';
import type { AgingPolicy } from './domain';
import { DispatchQueue } from './domain';
import type { AttemptRecord, TaskModel, TaskRecord } from './models/task';
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
  const clock = options.now ?? Date.now;
  const queue = new DispatchQueue(options.aging);
  /** Attempts running per instance: dispatch only while an instance has free concurrency. */
  const inFlight = new Map<string, number>();
  /** What the dispatcher needs of a queued task, without reading it again. */
  const queued = new Map<string, TaskRecord>();
  const balancers = new Map<string, LoadBalancer>();
  const finalListeners: FinalListener[] = [];
  let timer: NodeJS.Timeout | undefined;
  let dispatching: Promise<void> | undefined;
  let again = false;
  let running = false;

  const busy = (instanceId: string, delta: number) =>
    inFlight.set(instanceId, Math.max(0, (inFlight.get(instanceId) ?? 0) + delta));

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
      { subject: t._id },
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
      { subject: a.instanceId },
    );

  /**
   * Writes the next state of a task if nobody changed it since `current` was read; returns the new
   * state, or null when it lost the race (the caller reads again or lets the other writer win).
   */
  async function write(
    current: TaskRecord,
    next: TaskRecord,
    events: OutboxEntry[],
    eventId?: string,
  ): Promise<TaskRecord | null> {
    const {
      _id,
      outbox: _o,
      outboxLockedUntil: _l,
      appliedEventIds: _a,
      rev: _r,
      createdAt: _c,
      ...fields
    } = next;
    void [_o, _l, _a, _r, _c];
    const result = await tasks.updateOne(
      { _id, rev: current.rev },
      {
        $set: fields,
        $inc: { rev: 1 },
        $push: {
          outbox: { $each: events },
          ...(eventId ? { appliedEventIds: { $each: [eventId], $slice: -50 } } : {}),
        },
      },
    );
    if (result.modifiedCount !== 1) return null;
    if (events.length > 0) options.relay?.kick();
    return { ...next, rev: current.rev + 1 };
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

  function enqueue(task: TaskRecord) {
    queued.set(task._id, task);
    queue.push({
      id: task._id,
      priority: task.priority,
      enqueuedAt: task.createdAt.getTime(),
      readyAt: task.nextAttemptAt.getTime(),
    });
    wake();
  }

  /** Ends an attempt: the task completes, is rejected, is retried later, or fails for good. */
  async function finishAttempt(
    current: TaskRecord,
    outcome: AttemptOutcome,
    details: { output?: TaskOutput; error?: string; durationMs: number },
    eventId?: string,
  ): Promise<TaskRecord | null> {
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
    let next: TaskRecord;
    if (outcome === 'SUCCEEDED') {
      next = {
        ...base,
        status: 'COMPLETED',
        output: details.output ?? null,
        error: null,
        completedAt: new Date(now),
      };
    } else if (outcome === 'REJECTED') {
      next = {
        ...base,
        status: 'REJECTED',
        error: details.error ?? 'the agent refused the input',
        completedAt: new Date(now),
      };
    } else if (attempts.length < current.retryPolicy.maxAttempts && !pastDeadline(current, now)) {
      const policy = current.retryPolicy;
      const delayMs = backoffDelay(
        attempts.length,
        {
          initialMs: policy.initialDelayMs,
          maxMs: policy.maxDelayMs,
          multiplier: policy.multiplier,
          jitter: policy.jitter,
        },
        current.lastDelayMs || policy.initialDelayMs,
      );
      next = {
        ...base,
        status: 'SUBMITTED',
        error: details.error ?? null,
        nextAttemptAt: new Date(now + delayMs),
        lastDelayMs: delayMs,
        avoidInstanceIds: [...new Set([...current.avoidInstanceIds, last.instanceId])],
      };
    } else {
      const why =
        outcome === 'TIMED_OUT' ? `no answer within ${current.timeoutMs} ms` : (details.error ?? 'failed');
      next = {
        ...base,
        status: 'FAILED',
        error: `attempt ${attempts.length} of ${current.retryPolicy.maxAttempts}: ${why}`,
        completedAt: new Date(now),
      };
    }
    const written = await write(
      current,
      next,
      [attemptEvent(next, attempt), updatedEvent(next, now)],
      eventId,
    );
    if (!written) return null;
    busy(last.instanceId, -1);
    if (written.status === 'SUBMITTED') enqueue(written);
    else await notifyFinal(written);
    wake();
    return written;
  }

  const pastDeadline = (t: TaskRecord, now: number) => t.deadline !== null && t.deadline.getTime() <= now;

  /** Picks an instance for a task among those with free concurrency, or null to keep it queued. */
  function choose(task: TaskRecord) {
    const offering = replica
      .offering(task.capability, task.versionRange, task.agentHandle)
      .filter((v) => v.inbox && v.runtimeId);
    const toCandidate = (avoid: boolean) =>
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
    // A retry goes to another instance when one can take it; else the same one is better than none.
    let candidates = toCandidate(true);
    if (eligibleCandidates(candidates).length === 0) candidates = toCandidate(false);
    const key = `${task.strategy}|${task.capability}|${task.versionRange ?? '*'}|${task.agentHandle ?? '*'}`;
    let balancer = balancers.get(key);
    if (!balancer) {
      balancer = createLoadBalancer(task.strategy);
      balancers.set(key, balancer);
    }
    const picked = balancer.pick(candidates);
    return picked ? replica.get(picked.id)! : null;
  }

  async function dispatchOnce(): Promise<void> {
    const now = clock();
    for (const item of queue.ready(now, 500)) {
      const task = queued.get(item.id);
      if (!task) {
        queue.remove(item.id);
        continue;
      }
      if (pastDeadline(task, now)) {
        queue.remove(task._id);
        queued.delete(task._id);
        await failQueued(
          task,
          `the deadline ${task.deadline!.toISOString()} passed before an agent could run it`,
        );
        continue;
      }
      const instance = choose(task);
      if (!instance) continue;
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
        { subject: task._id, key: instance.instanceId },
      );
      queue.remove(task._id);
      queued.delete(task._id);
      busy(instance.instanceId, 1);
      const written = await write(task, next, [assignment, updatedEvent(next, now)]);
      if (!written) {
        // Changed meanwhile (canceled, or another writer): read it again and requeue if still waiting.
        busy(instance.instanceId, -1);
        const fresh = await tasks.findById(task._id).lean<TaskRecord>();
        if (fresh?.status === 'SUBMITTED') enqueue(fresh);
      }
    }
  }

  async function failQueued(task: TaskRecord, reason: string) {
    const now = clock();
    const next: TaskRecord = {
      ...task,
      status: 'FAILED',
      error: reason,
      completedAt: new Date(now),
      updatedAt: new Date(now),
    };
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

  /** Attempts silent past their timeout are failed as TIMED_OUT (and retried). */
  async function sweepTimeouts() {
    const now = clock();
    const working = await tasks
      .find({ status: 'WORKING' }, { _id: 1, timeoutMs: 1, attempts: { $slice: -1 } })
      .lean<Pick<TaskRecord, '_id' | 'timeoutMs' | 'attempts'>[]>();
    for (const t of working) {
      const last = t.attempts.at(-1);
      if (!last || last.startedAt.getTime() + t.timeoutMs > now) continue;
      const current = await tasks.findById(t._id).lean<TaskRecord>();
      if (current?.status !== 'WORKING' || current.attempts.length !== last.number) continue;
      await finishAttempt(current, 'TIMED_OUT', {
        error: `no result within ${current.timeoutMs} ms`,
        durationMs: now - last.startedAt.getTime(),
      });
    }
  }

  /** Stores a new task (already validated) and queues it; returns it as stored. */
  async function accept(task: TaskRecord): Promise<TaskRecord> {
    const now = clock();
    task.outbox = [updatedEvent(task, now)];
    await tasks.create(task);
    options.relay?.kick();
    if (task.status === 'SUBMITTED') enqueue(task);
    else await notifyFinal(task);
    return task;
  }

  return {
    onFinal(listener: FinalListener) {
      finalListeners.push(listener);
    },

    accept,

    /** Stores a task with a fixed id unless an earlier pass (or a run before a restart) already did. */
    async acceptOnce(task: TaskRecord): Promise<void> {
      try {
        await accept(task);
      } catch (err) {
        if ((err as { code?: unknown }).code !== 11000) throw err;
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
      for (let tries = 0; tries < 5; tries++) {
        const current = await tasks.findById(result.taskId).lean<TaskRecord>();
        if (!current || current.status !== 'WORKING' || current.attempts.length !== result.attempt) return;
        if (current.appliedEventIds.includes(eventId)) return;
        const written = await finishAttempt(
          current,
          result.outcome,
          {
            ...(result.output ? { output: result.output } : {}),
            ...(result.error ? { error: result.error } : {}),
            durationMs: result.durationMs,
          },
          eventId,
        );
        if (written) return;
      }
    },

    async cancel(id: string, reason: string): Promise<TaskRecord | null> {
      for (let tries = 0; tries < 5; tries++) {
        const current = await tasks.findById(id).lean<TaskRecord>();
        if (!current || isFinal(current.status)) return current;
        const now = clock();
        const next: TaskRecord = {
          ...current,
          status: 'CANCELED',
          error: reason,
          completedAt: new Date(now),
          updatedAt: new Date(now),
        };
        const written = await write(current, next, [updatedEvent(next, now)]);
        if (!written) continue;
        queue.remove(id);
        queued.delete(id);
        // The runtime may still run a WORKING attempt; its result is ignored, and its slot frees then.
        if (current.status === 'WORKING') busy(current.attempts.at(-1)!.instanceId, -1);
        await notifyFinal(written);
        wake();
        return written;
      }
      return tasks.findById(id).lean<TaskRecord>();
    },

    /** Loads what a previous run left: queued tasks into the queue, running attempts into the counts. */
    async start() {
      for (const t of await tasks.find({ status: 'SUBMITTED' }).lean<TaskRecord[]>()) enqueue(t);
      const working = await tasks
        .find({ status: 'WORKING' }, { attempts: { $slice: -1 } })
        .lean<Pick<TaskRecord, 'attempts'>[]>();
      for (const t of working) if (t.attempts[0]) busy(t.attempts[0].instanceId, 1);
      running = true;
      replica.onChange(wake);
      let sweeping = false;
      timer = setInterval(() => {
        wake();
        if (sweeping) return;
        sweeping = true;
        sweepTimeouts()
          .catch((err: unknown) => logger.error({ err }, 'timeout sweep failed'))
          .finally(() => (sweeping = false));
      }, options.tickMs);
      logger.info({ queued: queue.size, working: working.length }, 'task engine started');
      wake();
    },

    async stop() {
      running = false;
      clearInterval(timer);
      await dispatching;
    },

    queued: () => queue.size,
    isRunning: () => running,
  };
}

export type TaskEngine = ReturnType<typeof createTaskEngine>;
