import type {
  BreakerTransition,
  EventBus,
  HealthObservation,
  HealthState,
  HealthThresholds,
  HealthTransition,
  InstanceLoad,
  InstanceRegistration,
  InstanceView,
  Logger,
  OutboxEntry,
  OutboxRelay,
} from '@waooaw/shared';
import {
  advanceBreaker,
  aggregateHealth,
  BREAKER_PRESETS,
  breakerRates,
  conflict,
  discoveryEvents,
  ErrorCode,
  initialBreaker,
  initialHealth,
  isDuplicateKey,
  markHealthUnknown,
  notFound,
  observeHealth,
  outboxEntry,
  PlatformError,
  recordCall,
  resetBreaker,
  runtimeInbox,
  updateWithRevision,
} from '@waooaw/shared';
import type { AttemptOutcome } from '@waooaw/shared';
import type { AgentReplicaModel } from './models/agent-replica';
import type { InstanceModel, InstanceRecord } from './models/instance';
import { INSTANCE_APPLIED_KEPT } from './models/instance';

export interface Actor {
  actor: string;
  traceparent?: string;
}

/** A registration from either path: the runtime's Kafka messages or the registerInstance mutation. */
export interface RegistrationRequest extends InstanceRegistration {
  source: InstanceRecord['source'];
  /** Known for API registrations; the runtime's come by handle and are linked when identity tells. */
  agentId: string | null;
  endpoint: string | null;
  load: InstanceLoad;
  ready: boolean;
}

export const EMPTY_LOAD: InstanceLoad = { inFlight: 0, latencyMs: 0, errorRate: 0, completed: 0, failed: 0 };

export const breakerConfig = (instance: Pick<InstanceRecord, 'breakerPreset'>) =>
  BREAKER_PRESETS[instance.breakerPreset];

/** The routing view replicas keep (orchestration dispatches from it). */
export function instanceView(r: InstanceRecord): InstanceView {
  return {
    instanceId: r._id,
    agentId: r.agentId,
    handle: r.handle,
    agentVersion: r.agentVersion,
    runtimeId: r.runtimeId,
    inbox: r.inbox,
    tier: r.tier,
    weight: r.weight,
    concurrency: r.concurrency,
    capabilities: r.capabilities,
    health: r.health.state,
    circuit: r.breaker.state,
    inFlight: r.load.inFlight,
  };
}

/** Everything a returning instance starts over with (not its identity, outbox or revision). */
function returningFields(r: InstanceRecord): Partial<InstanceRecord> {
  const { _id, outbox, outboxLockedUntil, appliedEventIds, rev, createdAt, ...fields } = r;
  void [_id, outbox, outboxLockedUntil, appliedEventIds, rev, createdAt];
  return fields;
}

/** What one read-modify-write does to an instance: fields to set and the events it causes. */
interface Change {
  set: Partial<InstanceRecord>;
  events: OutboxEntry[];
}

const ROUTING_FIELDS = ['weight', 'tier', 'concurrency', 'agentVersion', 'runtimeId', 'inbox'] as const;

/**
 * The registry's writes. Heartbeats, task outcomes and the sweeper all change the same instance
 * documents, so every write is a read-modify-write guarded by a revision number (retried when it
 * loses a race), and it appends the events it causes to the document's outbox in the same update.
 */
export function createInstanceRegistry(deps: {
  instances: InstanceModel;
  agents: AgentReplicaModel;
  bus: Pick<EventBus, 'source'>;
  relay?: OutboxRelay;
  logger: Logger;
  thresholds: HealthThresholds;
  now?: () => number;
}) {
  const { instances, agents, bus, thresholds, logger } = deps;
  const clock = deps.now ?? Date.now;

  const event = {
    changed: (r: InstanceRecord, change: 'REGISTERED' | 'UPDATED' | 'DEREGISTERED' | 'REMOVED', at: number) =>
      outboxEntry(
        bus,
        discoveryEvents.instanceChanged,
        { change, instance: instanceView(r), at: new Date(at).toISOString() },
        { subject: r._id },
      ),
    health: (r: InstanceRecord, t: HealthTransition, agentHealth: HealthState) =>
      outboxEntry(
        bus,
        discoveryEvents.healthChanged,
        {
          instanceId: r._id,
          agentId: r.agentId,
          handle: r.handle,
          from: t.from,
          to: t.to,
          agentHealth,
          reason: t.reason,
          at: new Date(t.at).toISOString(),
        },
        { subject: r._id },
      ),
    circuit: (r: InstanceRecord, t: BreakerTransition) =>
      outboxEntry(
        bus,
        discoveryEvents.circuitChanged,
        {
          instanceId: r._id,
          agentId: r.agentId,
          handle: r.handle,
          from: t.from,
          to: t.to,
          reason: t.reason,
          at: new Date(t.at).toISOString(),
        },
        { subject: r._id },
      ),
  };

  /** The agent's health over its live instances, with this instance's new state in place. */
  async function agentHealthWith(r: InstanceRecord, state: HealthState): Promise<HealthState> {
    const siblings = await instances
      .find(
        {
          _id: { $ne: r._id },
          status: 'ACTIVE',
          ...(r.agentId ? { agentId: r.agentId } : { handle: r.handle }),
        },
        { 'health.state': 1 },
      )
      .lean<Pick<InstanceRecord, 'health'>[]>();
    return aggregateHealth([...siblings.map((s) => s.health.state), state]);
  }

  /** Health events for a transition, plus UPDATED for replicas (health decides routing). */
  async function healthEvents(next: InstanceRecord, t: HealthTransition | null): Promise<OutboxEntry[]> {
    if (!t) return [];
    const agentHealth =
      next.status === 'ACTIVE' ? await agentHealthWith(next, t.to) : await agentHealthWith(next, 'UNKNOWN');
    return [event.health(next, t, agentHealth)];
  }

  function observation(
    r: InstanceRecord,
    load: InstanceLoad,
    ready: boolean,
    now: number,
  ): HealthObservation {
    // Task outcomes orchestration reported count as much as what the runtime says of itself.
    const config = breakerConfig(r);
    const rates = breakerRates(r.breaker, config, now);
    const outcomeErrorRate = rates.calls >= config.minimumCalls ? rates.failureRate : 0;
    return {
      latencyMs: load.latencyMs,
      errorRate: Math.max(load.errorRate, outcomeErrorRate),
      selfReportedUnhealthy: !ready,
    };
  }

  /**
   * The last version of each instance this process wrote or read. Heartbeats are the bulk of the
   * registry's traffic, and with the cache a heartbeat costs one conditional write instead of a read
   * and a write; the revision check still catches every change made elsewhere (another replica, the
   * agent link), and then the instance is read again.
   */
  const cache = new Map<string, InstanceRecord>();

  type Decide = (current: InstanceRecord, now: number) => Promise<Change | null> | Change | null;
  /** A change waiting for its instance's next write, and the caller waiting for its outcome. */
  interface PendingChange {
    decide: Decide;
    eventId?: string;
    resolve: (written: InstanceRecord | null) => void;
    reject: (err: unknown) => void;
  }
  /** Changes per instance waiting for its next write; an instance is in `writing` while one is in flight. */
  const pending = new Map<string, PendingChange[]>();
  const writing = new Set<string>();

  /**
   * Changes an instance: reads it (the cached copy first), lets `decide` compute the change, and
   * writes it only if nobody changed the instance meanwhile (else reads again: updateWithRevision).
   * Resolves with the instance as written (or as read, if nothing changed; null if there is none).
   *
   * The changes an instance gets in one loop turn (a fetched batch's attempt outcomes, a heartbeat
   * among them) are decided one after the other on the same copy and written together, and the next
   * turn's wait for that write. Written one by one, they all carried the same revision: one won and
   * each other lost, read the instance again and wrote again (0.24 reads and about as many lost
   * writes per task at 250 tasks/s).
   */
  function mutate(id: string, decide: Decide, eventId?: string): Promise<InstanceRecord | null> {
    return new Promise((resolve, reject) => {
      const queue = pending.get(id);
      if (queue) {
        queue.push({ decide, eventId, resolve, reject });
        return;
      }
      pending.set(id, [{ decide, eventId, resolve, reject }]);
      if (!writing.has(id)) setImmediate(() => void flush(id));
    });
  }

  /** Writes the changes waiting for `id` as one, then the ones that came meanwhile. */
  async function flush(id: string): Promise<void> {
    const batch = pending.get(id);
    pending.delete(id);
    if (!batch) return;
    writing.add(id);
    try {
      const outcome = await writeChanges(id, batch);
      for (const [i, change] of batch.entries()) {
        const failure = outcome.failures.get(i);
        if (failure !== undefined) change.reject(failure);
        else change.resolve(outcome.record);
      }
    } catch (err) {
      for (const change of batch) change.reject(err);
    } finally {
      writing.delete(id);
      if (pending.has(id)) setImmediate(() => void flush(id));
    }
  }

  /**
   * One read-decide-write of `id` for all of `batch`: each change is decided on the instance as the
   * ones before it left it. A change whose event the instance applied already is skipped, and one
   * whose `decide` throws fails alone (its caller gets the error; the others are written).
   */
  async function writeChanges(
    id: string,
    batch: readonly PendingChange[],
  ): Promise<{ record: InstanceRecord | null; failures: Map<number, unknown> }> {
    let failures = new Map<number, unknown>();
    const outcome = await updateWithRevision(
      instances,
      id,
      async (current) => {
        const now = clock();
        failures = new Map();
        let next = current;
        const set: Partial<InstanceRecord> = {};
        const events: OutboxEntry[] = [];
        const applied: string[] = [];
        for (const [i, change] of batch.entries()) {
          const eventId = change.eventId;
          if (eventId && (next.appliedEventIds.includes(eventId) || applied.includes(eventId))) continue;
          let decided: Change | null;
          try {
            decided = await change.decide(next, now);
          } catch (err) {
            failures.set(i, err);
            continue;
          }
          if (!decided) continue;
          Object.assign(set, decided.set);
          events.push(...decided.events);
          next = { ...next, ...decided.set };
          if (eventId) applied.push(eventId);
        }
        if (Object.keys(set).length === 0 && events.length === 0 && applied.length === 0) return null;
        const updatedAt = new Date(now);
        return {
          update: {
            $set: { ...set, updatedAt },
            $push: {
              outbox: { $each: events },
              ...(applied.length > 0
                ? { appliedEventIds: { $each: applied, $slice: -INSTANCE_APPLIED_KEPT } }
                : {}),
            },
          },
          value: { set, events, updatedAt, applied },
        };
      },
      {
        known: cache.get(id),
        onConflict: () => cache.delete(id), // changed elsewhere (or gone): read it again
      },
    );
    if (!outcome.current) cache.delete(id);
    if (!outcome.written) return { record: outcome.current, failures };
    const { current } = outcome;
    const { set, events, updatedAt, applied } = outcome.value;
    if (events.length > 0) deps.relay?.kick();
    const written: InstanceRecord = {
      ...current,
      ...set,
      updatedAt,
      rev: current.rev + 1,
      // The relay empties the outbox on its own: the cache never needs its content.
      outbox: [],
      appliedEventIds: [...current.appliedEventIds, ...applied].slice(-INSTANCE_APPLIED_KEPT),
    };
    if (written.status === 'ACTIVE') cache.set(id, written);
    else cache.delete(id);
    return { record: written, failures };
  }

  async function agentIdFor(handle: string): Promise<string | null> {
    const agent = await agents.findOne({ handle }, { _id: 1 }).lean<{ _id: string }>();
    return agent?._id ?? null;
  }

  /** A new (or returning) instance: evaluated at once, so it is selectable as soon as it answers. */
  function fresh(req: RegistrationRequest, agentId: string | null, now: number) {
    const at = new Date(now);
    const base: InstanceRecord = {
      _id: req.instanceId,
      agentId,
      handle: req.handle,
      agentVersion: req.agentVersion,
      source: req.source,
      runtimeId: req.source === 'RUNTIME' ? req.runtimeId : null,
      inbox: req.source === 'RUNTIME' ? runtimeInbox(req.runtimeId) : null,
      endpoint: req.endpoint,
      tier: req.tier,
      weight: req.weight,
      ttlSeconds: req.ttlSeconds,
      concurrency: req.concurrency,
      breakerPreset: req.breakerPreset,
      capabilities: req.capabilities,
      status: 'ACTIVE',
      registeredAt: at,
      lastHeartbeatAt: at,
      expiresAt: new Date(now + req.ttlSeconds * 1000),
      load: req.load,
      health: initialHealth(now),
      breaker: initialBreaker(now),
      rev: 0,
      appliedEventIds: [],
      endedAt: null,
      outbox: [],
      outboxLockedUntil: null,
      createdAt: at,
      updatedAt: at,
    };
    const observed = observeHealth(base.health, observation(base, req.load, req.ready, now), thresholds, now);
    return { record: { ...base, health: observed.snapshot }, transition: observed.transition };
  }

  /** Applies a heartbeat's load to an ACTIVE instance. */
  async function beat(
    current: InstanceRecord,
    load: InstanceLoad,
    ready: boolean,
    now: number,
    registration?: RegistrationRequest,
  ): Promise<Change> {
    const observed = observeHealth(current.health, observation(current, load, ready, now), thresholds, now);
    const set: Partial<InstanceRecord> = {
      load,
      lastHeartbeatAt: new Date(now),
      expiresAt: new Date(now + (registration?.ttlSeconds ?? current.ttlSeconds) * 1000),
      health: observed.snapshot,
    };
    if (registration) {
      Object.assign(set, {
        agentVersion: registration.agentVersion,
        tier: registration.tier,
        weight: registration.weight,
        ttlSeconds: registration.ttlSeconds,
        concurrency: registration.concurrency,
        capabilities: registration.capabilities,
        breakerPreset: registration.breakerPreset,
        ...(registration.source === 'RUNTIME'
          ? { runtimeId: registration.runtimeId, inbox: runtimeInbox(registration.runtimeId) }
          : { endpoint: registration.endpoint }),
      });
    }
    const next: InstanceRecord = { ...current, ...set };
    const events = await healthEvents(next, observed.transition);
    const routingChanged =
      observed.transition !== null ||
      ROUTING_FIELDS.some((f) => next[f] !== current[f]) ||
      JSON.stringify(next.capabilities) !== JSON.stringify(current.capabilities);
    if (routingChanged) events.push(event.changed(next, 'UPDATED', now));
    return { set, events };
  }

  return {
    /**
     * Registers an instance, or refreshes it when it is known (the runtime's heartbeats carry the
     * registration, so an instance discovery forgot comes back by itself).
     */
    async register(req: RegistrationRequest, eventId?: string): Promise<InstanceRecord> {
      for (let attempt = 0; attempt < 4; attempt++) {
        const updated = await mutate(
          req.instanceId,
          async (current, now) => {
            if (current.status === 'ACTIVE') return beat(current, req.load, req.ready, now, req);
            // A returning instance starts over: fresh health and a closed breaker.
            const agentId = req.agentId ?? current.agentId ?? (await agentIdFor(req.handle));
            const { record: next, transition } = fresh(req, agentId, now);
            return {
              set: returningFields(next),
              events: [event.changed(next, 'REGISTERED', now), ...(await healthEvents(next, transition))],
            };
          },
          eventId,
        );
        if (updated) return updated;
        const now = clock();
        const { record, transition } = fresh(req, req.agentId ?? (await agentIdFor(req.handle)), now);
        record.outbox = [
          event.changed(record, 'REGISTERED', now),
          ...(await healthEvents(record, transition)),
        ];
        if (eventId) record.appliedEventIds = [eventId];
        try {
          await instances.create(record);
          deps.relay?.kick();
          cache.set(record._id, { ...record, outbox: [] });
          logger.info({ instanceId: record._id, handle: record.handle }, 'instance registered');
          return record;
        } catch (err) {
          if (isDuplicateKey(err)) continue; // registered concurrently: refresh it
          throw err;
        }
      }
      throw new PlatformError(ErrorCode.CONFLICT, `Instance ${req.instanceId} kept changing; try again`);
    },

    /** The heartbeat mutation: only for an instance that is registered and active. */
    async heartbeat(id: string, load: InstanceLoad): Promise<InstanceRecord> {
      const updated = await mutate(id, (current, now) => {
        if (current.status !== 'ACTIVE')
          throw conflict(
            `Instance ${id} is ${current.status.toLowerCase()}; register it again before sending heartbeats`,
          );
        return beat(current, load, true, now);
      });
      if (!updated || updated.status === 'REMOVED') throw notFound('ServiceInstance', id);
      return updated;
    },

    async deregister(id: string, reason: string, eventId?: string): Promise<InstanceRecord | null> {
      return mutate(
        id,
        async (current, now) => {
          if (current.status !== 'ACTIVE') return null;
          const unknown = markHealthUnknown(current.health, `deregistered: ${reason}`, now);
          const next: InstanceRecord = {
            ...current,
            status: 'DEREGISTERED',
            endedAt: new Date(now),
            health: unknown.snapshot,
          };
          return {
            set: { status: next.status, endedAt: next.endedAt, health: next.health },
            events: [
              ...(await healthEvents(next, unknown.transition)),
              event.changed(next, 'DEREGISTERED', now),
            ],
          };
        },
        eventId,
      );
    },

    /** Feeds one attempt's outcome to the instance's breaker (REJECTED says nothing about it). */
    async recordOutcome(
      id: string,
      outcome: { outcome: AttemptOutcome; durationMs: number },
      eventId: string,
    ): Promise<InstanceRecord | null> {
      if (outcome.outcome === 'REJECTED') return null;
      return mutate(
        id,
        (current, now) => {
          const config = breakerConfig(current);
          const recorded = recordCall(
            current.breaker,
            config,
            {
              failed: outcome.outcome !== 'SUCCEEDED',
              // A silent attempt is as slow as a call can be.
              durationMs:
                outcome.outcome === 'TIMED_OUT'
                  ? Math.max(outcome.durationMs, config.slowCallDurationMs)
                  : outcome.durationMs,
            },
            now,
          );
          const next: InstanceRecord = { ...current, breaker: recorded.snapshot };
          const events = recorded.transition
            ? [event.circuit(next, recorded.transition), event.changed(next, 'UPDATED', now)]
            : [];
          return { set: { breaker: recorded.snapshot }, events };
        },
        eventId,
      );
    },

    async resetCircuit(id: string, reason: string, who: Actor): Promise<InstanceRecord> {
      const updated = await mutate(id, (current, now) => {
        if (current.status === 'REMOVED') return null;
        const snapshot = resetBreaker(now);
        const next: InstanceRecord = { ...current, breaker: snapshot };
        const events =
          current.breaker.state === 'CLOSED'
            ? []
            : [
                event.circuit(next, {
                  from: current.breaker.state,
                  to: 'CLOSED',
                  at: now,
                  reason: `reset by ${who.actor}: ${reason}`,
                }),
                event.changed(next, 'UPDATED', now),
              ];
        return { set: { breaker: snapshot }, events };
      });
      if (!updated || updated.status === 'REMOVED') throw notFound('ServiceInstance', id);
      return updated;
    },

    /**
     * One pass of the sweeper: silent instances turn UNKNOWN, then are removed after the grace
     * period; OPEN breakers whose time is up turn HALF_OPEN; old records are deleted.
     */
    async sweep(options: { removeAfterMs: number; retentionMs: number }): Promise<void> {
      const now = clock();
      const silent = await instances
        .find({ status: 'ACTIVE', expiresAt: { $lt: new Date(now) } }, { _id: 1 })
        .lean<{ _id: string }[]>();
      for (const { _id } of silent) {
        await mutate(_id, async (current, at) => {
          if (current.status !== 'ACTIVE' || current.expiresAt.getTime() >= at) return null;
          if (current.expiresAt.getTime() < at - options.removeAfterMs) {
            const gone = markHealthUnknown(current.health, 'removed after a long silence', at);
            const next: InstanceRecord = {
              ...current,
              status: 'REMOVED',
              endedAt: new Date(at),
              health: gone.snapshot,
            };
            return {
              set: { status: 'REMOVED', endedAt: next.endedAt, health: next.health },
              events: [...(await healthEvents(next, gone.transition)), event.changed(next, 'REMOVED', at)],
            };
          }
          const silence = Math.round((at - current.lastHeartbeatAt.getTime()) / 100) / 10;
          const unknown = markHealthUnknown(
            current.health,
            `no heartbeat for ${silence} s (TTL ${current.ttlSeconds} s)`,
            at,
          );
          if (!unknown.transition) return null;
          const next: InstanceRecord = { ...current, health: unknown.snapshot };
          return {
            set: { health: unknown.snapshot },
            events: [...(await healthEvents(next, unknown.transition)), event.changed(next, 'UPDATED', at)],
          };
        });
      }
      const open = await instances
        .find({ status: 'ACTIVE', 'breaker.state': 'OPEN' }, { _id: 1 })
        .lean<{ _id: string }[]>();
      for (const { _id } of open) {
        await mutate(_id, (current, at) => {
          const advanced = advanceBreaker(current.breaker, breakerConfig(current), at);
          if (!advanced.transition) return null;
          const next: InstanceRecord = { ...current, breaker: advanced.snapshot };
          return {
            set: { breaker: advanced.snapshot },
            events: [event.circuit(next, advanced.transition), event.changed(next, 'UPDATED', at)],
          };
        });
      }
      // An instance another replica removed never comes through this one's writes again: forget it.
      for (const [id, cached] of cache)
        if (cached.expiresAt.getTime() < now - options.removeAfterMs) cache.delete(id);
      await instances.deleteMany({
        status: { $in: ['DEREGISTERED', 'REMOVED'] },
        endedAt: { $lt: new Date(now - options.retentionMs) },
        'outbox.0': { $exists: false },
      });
    },

    /** identity told us an agent's id: instances the runtime registered by handle get it (and replicas hear of it). */
    async linkAgent(agentId: string, handle: string): Promise<void> {
      const unlinked = await instances
        .find({ handle, agentId: null, status: { $ne: 'REMOVED' } }, { _id: 1 })
        .lean<{ _id: string }[]>();
      for (const { _id } of unlinked) {
        await mutate(_id, (current, now) => {
          if (current.agentId !== null) return null;
          const next: InstanceRecord = { ...current, agentId };
          return { set: { agentId }, events: [event.changed(next, 'UPDATED', now)] };
        });
      }
    },
  };
}

export type InstanceRegistry = ReturnType<typeof createInstanceRegistry>;
