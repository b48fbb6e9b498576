import { randomUUID } from 'node:crypto';
import type { EventBus, Logger, OutboxRelay } from '@waooaw/shared';
import { conflict, factoryEvents, identityCommands, isDuplicateKey, outboxEntry } from '@waooaw/shared';
import type { AgentDefinition, DefinitionProblem } from './domain/definition';
import { invalidDefinition, parseDefinition } from './domain/definition';
import { generateAgentModule } from './domain/generator';
import type { BuildModel, BuildRecord } from './models/build';
import type { DefinitionModel, DefinitionRecord } from './models/definition';

export interface SubmitOptions {
  actor: string;
  activate: boolean;
  requestId?: string;
  traceparent?: string;
}

/** What identity needs to register the agent: the definition without the factory-only fields. */
function registration(definition: AgentDefinition) {
  return {
    handle: definition.handle,
    name: definition.name,
    description: definition.description,
    version: definition.version,
    kind: definition.kind,
    category: definition.category,
    specialization: definition.specialization,
    industries: definition.industries,
    tier: definition.tier,
    tags: definition.tags,
    metadata: {
      ...definition.metadata,
      template: definition.template,
      persona: definition.persona,
      runtime: definition.runtime,
      ...(definition.pricing ? { pricing: definition.pricing } : {}),
    },
    capabilities: definition.capabilities.map(({ handler: _handler, ...capability }) => capability),
  };
}

export function createFactory(deps: {
  definitions: DefinitionModel;
  builds: BuildModel;
  bus: Pick<EventBus, 'source'>;
  relay?: OutboxRelay;
  logger: Logger;
}) {
  const { definitions, builds, bus } = deps;

  const buildEvent = (build: BuildRecord, traceparent?: string) =>
    outboxEntry(
      bus,
      factoryEvents.buildUpdated,
      {
        buildId: build._id,
        handle: build.handle,
        version: build.version,
        status: build.status,
        ...(build.agentId ? { agentId: build.agentId } : {}),
        ...(build.error ? { error: build.error } : {}),
        ...(build.requestId ? { requestId: build.requestId } : {}),
      },
      { subject: build._id, ...(traceparent ? { traceparent } : {}) },
    );

  /** Stores the definition once per handle and version; a different YAML for a stored version is a conflict. */
  async function storeDefinition(
    definition: AgentDefinition,
    yaml: string,
    sha256: string,
  ): Promise<DefinitionRecord> {
    const id = `${definition.handle}@${definition.version}`;
    let stored = await definitions.findById(id).lean<DefinitionRecord>();
    if (!stored) {
      try {
        const created = await definitions.create({
          _id: id,
          handle: definition.handle,
          version: definition.version,
          name: definition.name,
          template: definition.template,
          kind: definition.kind,
          category: definition.category,
          yaml,
          sha256,
          document: definition as unknown as Record<string, unknown>,
          agentId: null,
          createdAt: new Date(),
        });
        return created.toObject();
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        stored = await definitions.findById(id).lean<DefinitionRecord>();
      }
    }
    if (stored!.sha256 !== sha256) {
      throw conflict(
        `${definition.handle} ${definition.version} was already submitted with different content; raise the version to change it`,
        { handle: definition.handle, version: definition.version },
      );
    }
    return stored!;
  }

  return {
    validate(yaml: string): { valid: boolean; problems: DefinitionProblem[] } {
      const result = parseDefinition(yaml);
      return result.ok ? { valid: true, problems: [] } : { valid: false, problems: result.problems };
    },

    /**
     * Validates, stores, generates and asks identity (through the build's outbox) to register the
     * agent. Idempotent: resubmitting the same YAML returns the build under way or done; only a
     * failed build is tried again.
     */
    async submit(yaml: string, options: SubmitOptions): Promise<BuildRecord> {
      const parsed = parseDefinition(yaml);
      if (!parsed.ok) throw invalidDefinition(parsed.problems);
      const { definition, sha256 } = parsed;
      const stored = await storeDefinition(definition, yaml, sha256);
      const previous = await builds
        .findOne({ definitionId: stored._id })
        .sort({ createdAt: -1 })
        .lean<BuildRecord>();
      if (previous && previous.status !== 'FAILED') return previous;

      const files = generateAgentModule(definition, sha256);
      const build: BuildRecord = {
        _id: randomUUID(),
        handle: definition.handle,
        version: definition.version,
        definitionId: stored._id,
        status: 'PENDING',
        artefacts: files.map((f) => ({
          path: f.path,
          sha256: f.sha256,
          bytes: Buffer.byteLength(f.content),
          content: f.content,
        })),
        agentId: null,
        error: null,
        errorCode: null,
        requestedBy: options.actor,
        requestId: options.requestId ?? null,
        activate: options.activate,
        appliedEventIds: [],
        outbox: [],
        outboxLockedUntil: null,
        createdAt: new Date(),
        completedAt: null,
      };
      const command = outboxEntry(
        bus,
        identityCommands.registerAgent,
        {
          requestId: build._id,
          actor: `factory:${options.actor}`,
          activate: options.activate,
          agent: registration(definition),
        },
        { subject: definition.handle, ...(options.traceparent ? { traceparent: options.traceparent } : {}) },
      );
      build.outbox = [command, buildEvent(build, options.traceparent)];
      await builds.create(build);
      deps.relay?.kick();
      deps.logger.info(
        { buildId: build._id, handle: build.handle, version: build.version },
        'agent build started',
      );
      return build;
    },

    /** Identity's answer to a build's register command: the build succeeds or fails, once. */
    async complete(
      buildId: string,
      outcome: { agentId: string } | { error: string; code: string },
      traceparent?: string,
    ): Promise<boolean> {
      const build = await builds.findById(buildId).lean<BuildRecord>();
      if (!build || build.status !== 'PENDING') return false; // not ours, or already applied
      const done: BuildRecord =
        'agentId' in outcome
          ? { ...build, status: 'SUCCEEDED', agentId: outcome.agentId, completedAt: new Date() }
          : {
              ...build,
              status: 'FAILED',
              error: outcome.error,
              errorCode: outcome.code,
              completedAt: new Date(),
            };
      const updated = await builds.updateOne(
        { _id: buildId, status: 'PENDING' },
        {
          $set: {
            status: done.status,
            agentId: done.agentId,
            error: done.error,
            errorCode: done.errorCode,
            completedAt: done.completedAt,
          },
          $push: { outbox: buildEvent(done, traceparent) },
        },
      );
      if (updated.modifiedCount === 1 && 'agentId' in outcome) {
        await definitions.updateOne({ _id: build.definitionId }, { $set: { agentId: outcome.agentId } });
      }
      deps.relay?.kick();
      return updated.modifiedCount === 1;
    },
  };
}

export type Factory = ReturnType<typeof createFactory>;
