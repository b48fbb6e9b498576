import { randomUUID } from 'node:crypto';
import semver from 'semver';
import type {
  AgentRegistration,
  Capability,
  EventBus,
  LifecycleStatus,
  Logger,
  OutboxEntry,
  OutboxRelay,
} from '@waooaw/shared';
import {
  agentRegistrationSchema,
  APPLIED_EVENTS_KEPT,
  badUserInput,
  capabilitySchema,
  conflict,
  ErrorCode,
  identityEvents,
  isDuplicateKey,
  issuePath,
  notFound,
  outboxEntry,
  parseInput,
  PlatformError,
} from '@waooaw/shared';
import { z } from 'zod';
import { assertTransition, pathBetween } from './domain/lifecycle';
import { versionKey } from './domain/version-range';
import type { AgentModel, AgentRecord, CapabilityRecord, TransitionRecord } from './models/agent';

export interface Actor {
  actor: string;
  traceparent?: string;
}

export type RegistrationOutcome = 'CREATED' | 'NEW_VERSION' | 'UNCHANGED';

const toRecords = (capabilities: Capability[]): CapabilityRecord[] =>
  capabilities.map((c) => ({ ...c, ...versionKey(c.version) }));

/** A capability without its storage-only fields. */
export const publicCapability = ({ versionKey: _k, prerelease: _p, ...rest }: CapabilityRecord): Capability =>
  rest;

/**
 * The identity domain's writes. Each is one atomic single-document update that also appends the
 * events it causes to the document's outbox, so a crash can never keep the change but lose the event.
 */
export function createAgentRegistry(deps: {
  agents: AgentModel;
  bus: Pick<EventBus, 'source'>;
  relay?: OutboxRelay;
  logger: Logger;
}) {
  const { agents, bus } = deps;
  const kick = () => deps.relay?.kick();

  const registeredEvent = (
    agent: AgentRecord,
    outcome: RegistrationOutcome,
    requestId: string | undefined,
    traceparent?: string,
  ) =>
    outboxEntry(
      bus,
      identityEvents.agentRegistered,
      {
        agentId: agent._id,
        handle: agent.handle,
        name: agent.name,
        description: agent.description,
        version: agent.version,
        kind: agent.kind,
        category: agent.category,
        tier: agent.tier,
        specialization: agent.specialization,
        industries: agent.industries,
        tags: agent.tags,
        metadata: agent.metadata,
        status: agent.status,
        capabilities: agent.capabilities.map((c) => ({ name: c.name, version: c.version })),
        outcome,
        ...(requestId ? { requestId } : {}),
      },
      { subject: agent._id, ...(traceparent ? { traceparent } : {}) },
    );

  const transitionEvent = (
    agent: Pick<AgentRecord, '_id' | 'handle' | 'kind' | 'category'>,
    t: TransitionRecord,
    traceparent?: string,
  ) =>
    outboxEntry(
      bus,
      identityEvents.agentLifecycleChanged,
      {
        agentId: agent._id,
        handle: agent.handle,
        kind: agent.kind,
        category: agent.category,
        from: t.from ?? 'DRAFT',
        to: t.to,
        actor: t.actor,
        reason: t.reason,
        at: t.at.toISOString(),
      },
      { subject: agent._id, ...(traceparent ? { traceparent } : {}) },
    );

  /** The transitions (and their events) that walk an agent from `from` to ACTIVE. */
  const activation = (agent: AgentRecord, from: LifecycleStatus, who: Actor, reason: string) => {
    const steps = from === 'DRAFT' || from === 'PROVISIONED' ? (pathBetween(from, 'ACTIVE') ?? []) : [];
    const history: TransitionRecord[] = [];
    let current = from;
    for (const to of steps) {
      history.push({ from: current, to, actor: who.actor, reason, at: new Date() });
      current = to;
    }
    return {
      status: current,
      history,
      events: history.map((t) => transitionEvent(agent, t, who.traceparent)),
    };
  };

  async function create(
    input: AgentRegistration,
    who: Actor,
    options: { activate?: boolean; requestId?: string; commandId?: string } = {},
  ) {
    const now = new Date();
    const capabilities = toRecords(input.capabilities);
    const agent: AgentRecord = {
      _id: randomUUID(),
      ...input,
      status: 'DRAFT',
      capabilities,
      history: [
        {
          from: null,
          to: 'DRAFT',
          actor: who.actor,
          reason: options.requestId ? `registered by ${options.requestId}` : 'registered',
          at: now,
        },
      ],
      versions: [{ version: input.version, capabilities, registeredAt: now }],
      appliedEventIds: options.commandId ? [options.commandId] : [],
      outbox: [],
      outboxLockedUntil: null,
      createdAt: now,
      updatedAt: now,
    };
    const events: OutboxEntry[] = [];
    if (options.activate) {
      const walk = activation(agent, 'DRAFT', who, `activated by ${options.requestId ?? who.actor}`);
      agent.status = walk.status;
      agent.history.push(...walk.history);
      events.push(...walk.events);
    }
    agent.outbox = [registeredEvent(agent, 'CREATED', options.requestId, who.traceparent), ...events];
    await agents.create(agent);
    kick();
    return agent;
  }

  return {
    /** registerAgent mutation: a new handle, in DRAFT. */
    async register(input: unknown, who: Actor): Promise<AgentRecord> {
      const registration = parseInput(agentRegistrationSchema, input, 'agent');
      if (await agents.exists({ handle: registration.handle })) {
        throw conflict(
          `An agent with handle "${registration.handle}" already exists; choose another handle`,
          { field: 'handle' },
        );
      }
      return create(registration, who);
    },

    /**
     * The factory's register command: creates the agent, registers a higher version, or confirms an
     * identical one (idempotent); a lower version or an invalid definition is rejected.
     */
    async registerFromCommand(
      command: { requestId: string; actor: string; activate: boolean; agent: unknown },
      commandId: string,
      traceparent: string,
    ): Promise<
      | { outcome: RegistrationOutcome }
      | { rejected: { code: string; reason: string; handle: string; version: string } }
    > {
      const parsed = agentRegistrationSchema.safeParse(command.agent);
      const raw = (command.agent ?? {}) as { handle?: unknown; version?: unknown };
      if (!parsed.success) {
        const reason = parsed.error.issues.map((i) => `${issuePath(i.path)}: ${i.message}`).join('; ');
        const text = (v: unknown) => (typeof v === 'string' ? v : '');
        return {
          rejected: {
            code: ErrorCode.BAD_USER_INPUT,
            reason,
            handle: text(raw.handle),
            version: text(raw.version),
          },
        };
      }
      const input = parsed.data;
      const who = { actor: command.actor, traceparent };
      const activateReason = `activated by ${command.requestId}`;
      for (let attempt = 0; attempt < 3; attempt++) {
        const existing = await agents.findOne({ handle: input.handle }).lean<AgentRecord>();
        if (!existing) {
          try {
            await create(input, who, { activate: command.activate, requestId: command.requestId, commandId });
            return { outcome: 'CREATED' };
          } catch (err) {
            if (isDuplicateKey(err)) continue; // created concurrently: re-read
            throw err;
          }
        }
        if (existing.appliedEventIds.includes(commandId)) return { outcome: 'UNCHANGED' };
        const order = semver.compare(input.version, existing.version);
        if (order < 0) {
          return {
            rejected: {
              code: ErrorCode.CONFLICT,
              reason: `${input.handle} is already at version ${existing.version}; register a version above it`,
              handle: input.handle,
              version: input.version,
            },
          };
        }
        const outcome: RegistrationOutcome = order > 0 ? 'NEW_VERSION' : 'UNCHANGED';
        const next: AgentRecord = { ...existing };
        const set: Partial<AgentRecord> = { updatedAt: new Date() };
        const push: Record<string, unknown> = {};
        const events: OutboxEntry[] = [];
        if (outcome === 'NEW_VERSION') {
          const capabilities = toRecords(input.capabilities);
          Object.assign(set, { ...input, capabilities });
          Object.assign(next, set);
          push.versions = { version: input.version, capabilities, registeredAt: new Date() };
          events.push(
            outboxEntry(
              bus,
              identityEvents.agentCapabilitiesChanged,
              {
                agentId: existing._id,
                handle: existing.handle,
                version: input.version,
                capabilities: input.capabilities,
                actor: command.actor,
              },
              { subject: existing._id, traceparent },
            ),
          );
        }
        if (command.activate) {
          const walk = activation(next, existing.status, who, activateReason);
          if (walk.history.length > 0) {
            set.status = walk.status;
            next.status = walk.status;
            push.history = { $each: walk.history };
            events.push(...walk.events);
          }
        }
        const updated = await agents.updateOne(
          {
            _id: existing._id,
            version: existing.version,
            status: existing.status,
            appliedEventIds: { $ne: commandId },
          },
          {
            $set: set,
            $push: {
              ...push,
              outbox: { $each: [registeredEvent(next, outcome, command.requestId, traceparent), ...events] },
              appliedEventIds: { $each: [commandId], $slice: -APPLIED_EVENTS_KEPT },
            },
          },
        );
        if (updated.modifiedCount === 1) {
          kick();
          return { outcome };
        }
        // Changed under us (or the same command applied meanwhile): read again and decide anew.
      }
      throw new Error(`agent ${input.handle} kept changing while registering ${command.requestId}`);
    },

    async transition(id: string, to: LifecycleStatus, reason: string, who: Actor): Promise<AgentRecord> {
      if (!reason.trim())
        throw badUserInput('Give a reason for the lifecycle transition', { field: 'reason' });
      for (let attempt = 0; attempt < 3; attempt++) {
        const agent = await agents.findById(id).lean<AgentRecord>();
        if (!agent) throw notFound('Agent', id);
        assertTransition(agent.status, to);
        const t: TransitionRecord = {
          from: agent.status,
          to,
          actor: who.actor,
          reason: reason.trim(),
          at: new Date(),
        };
        const updated = await agents
          .findOneAndUpdate(
            { _id: id, status: agent.status },
            {
              $set: { status: to },
              $push: { history: t, outbox: transitionEvent(agent, t, who.traceparent) },
            },
            { new: true },
          )
          .lean<AgentRecord>();
        if (updated) {
          kick();
          return updated;
        }
      }
      throw new PlatformError(
        ErrorCode.CONFLICT,
        `Agent ${id} changed status concurrently; read it again and retry`,
      );
    },

    async setCapabilities(id: string, input: unknown, who: Actor): Promise<AgentRecord> {
      const capabilities = parseInput(
        z.array(capabilitySchema).min(1, 'an agent needs at least one capability'),
        input,
        'capabilities',
      );
      const names = capabilities.map((c) => c.name);
      const duplicate = names.find((n, i) => names.indexOf(n) !== i);
      if (duplicate)
        throw badUserInput(`Capability ${duplicate} appears twice; list each capability once`, {
          field: 'capabilities',
        });
      const agent = await agents.findById(id).lean<AgentRecord>();
      if (!agent) throw notFound('Agent', id);
      if (agent.status === 'RETIRED')
        throw conflict(`Agent ${agent.handle} is RETIRED; a retired agent's capabilities cannot change`);
      const records = toRecords(capabilities);
      const event = outboxEntry(
        bus,
        identityEvents.agentCapabilitiesChanged,
        { agentId: id, handle: agent.handle, version: agent.version, capabilities, actor: who.actor },
        { subject: id, ...(who.traceparent ? { traceparent: who.traceparent } : {}) },
      );
      const updated = await agents
        .findOneAndUpdate(
          { _id: id, version: agent.version, 'versions.version': agent.version },
          { $set: { capabilities: records, 'versions.$.capabilities': records }, $push: { outbox: event } },
          { new: true },
        )
        .lean<AgentRecord>();
      if (!updated)
        throw new PlatformError(
          ErrorCode.CONFLICT,
          `Agent ${id} changed concurrently; read it again and retry`,
        );
      kick();
      return updated;
    },
  };
}

export type AgentRegistry = ReturnType<typeof createAgentRegistry>;
