import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'graphql';
import type { Connection } from 'mongoose';
import type { Component, EventBus, Logger, PlatformMetrics, Service } from '@waooaw/shared';
import {
  busComponent,
  consumerComponent,
  createOutboxRelay,
  createService,
  createSubgraphServer,
  deleteIdleGroups,
  indexesComponent,
  mongoComponent,
  processGroupId,
  relayComponent,
  TASK_RESULTS_TOPIC,
} from '@waooaw/shared';
import type { Context } from './context';
import { contextFactory } from './context';
import type { Environment } from './environment';
import { createTaskEngine } from './engine';
import { commandHandlers, resultHandlers } from './events/handlers';
import { instanceReplicaModel, replicaPositionModel } from './models/instance';
import { sagaModel } from './models/saga';
import { taskModel } from './models/task';
import { workflowModel } from './models/workflow';
import { createOrchestrator } from './orchestrator';
import { createQuotas } from './quota';
import { createInstanceReplica, REPLICA_TOPIC } from './replica';
import { createResolvers } from './resolvers';
import { createSagaEngine } from './sagas';
import type { SubmissionDefaults } from './submission';
import { createWorkflowEngine } from './workflows';

export { environmentSchema } from './environment';

export const typeDefs = parse(
  readFileSync(path.resolve(__dirname, '../../../schemas/orchestration.graphql'), 'utf8'),
);

export interface OrchestrationDeps {
  config: Pick<
    Environment,
    | 'CALLER_TOKEN_SECRET'
    | 'NODE_ENV'
    | 'TASK_AGING_STEP_MS'
    | 'ORCHESTRATION_TICK_MS'
    | 'ORCHESTRATION_RECONCILE_MS'
    | 'TASK_DEFAULT_TIMEOUT_MS'
    | 'TASK_DEFAULT_MAX_ATTEMPTS'
    | 'TASK_RETRY_INITIAL_MS'
    | 'TASK_RETRY_MAX_MS'
    | 'TASK_RETRY_JITTER'
    | 'TASK_DEFAULT_STRATEGY'
    | 'MAX_QUEUED_TASKS_PER_CUSTOMER'
    | 'MAX_RUNNING_WORKFLOWS_PER_CUSTOMER'
  >;
  logger: Logger;
  metrics: PlatformMetrics;
  connection: Connection;
  bus: EventBus;
  outboxIntervalMs?: number;
  consumerGroupPrefix?: string;
  /**
   * Where new consumer groups start: the beginning (default, nothing is missed) or the end. Tests
   * that share one broker with other tests start at the end so others' instances stay out.
   */
  fromBeginning?: boolean;
}

/** Builds the orchestration service from its dependencies; tests use it without a port. */
export function createServer(deps: OrchestrationDeps) {
  const { logger, bus, config } = deps;
  const tasks = taskModel(deps.connection);
  const workflowRecords = workflowModel(deps.connection);
  const sagaRecords = sagaModel(deps.connection);
  const replicaRecords = instanceReplicaModel(deps.connection);
  const replicaPositions = replicaPositionModel(deps.connection);
  const relay = createOutboxRelay({
    models: [tasks, workflowRecords],
    bus,
    logger,
    metrics: deps.metrics,
    // Writers hand their events to the relay as they write (publishWritten); the scan only picks up
    // what a crashed process left behind (at start, once its claims expire, then as a safety net),
    // and on mongo-java-server every scan reads the whole task collection.
    intervalMs: deps.outboxIntervalMs ?? 60_000,
  });
  const defaults: SubmissionDefaults = {
    timeoutMs: config.TASK_DEFAULT_TIMEOUT_MS,
    strategy: config.TASK_DEFAULT_STRATEGY,
    retry: {
      maxAttempts: config.TASK_DEFAULT_MAX_ATTEMPTS,
      initialDelayMs: config.TASK_RETRY_INITIAL_MS,
      maxDelayMs: config.TASK_RETRY_MAX_MS,
      multiplier: 2,
      jitter: config.TASK_RETRY_JITTER,
    },
  };
  const replica = createInstanceReplica(replicaRecords, replicaPositions);
  const engine = createTaskEngine({
    tasks,
    replica,
    bus,
    relay,
    logger,
    aging: { stepMs: config.TASK_AGING_STEP_MS },
    tickMs: config.ORCHESTRATION_TICK_MS,
  });
  const workflows = createWorkflowEngine({
    workflows: workflowRecords,
    tasks,
    engine,
    replica,
    bus,
    relay,
    logger,
    defaults,
  });
  const sagas = createSagaEngine({ sagas: sagaRecords, tasks, engine, replica, logger, defaults });
  engine.onFinal(async (task) => {
    if (task.workflowId) await workflows.advance(task.workflowId);
    if (task.saga) await sagas.onTask(task);
  });
  const orchestrator = createOrchestrator({
    tasks,
    engine,
    workflows,
    workflowRecords,
    sagas,
    replica,
    defaults,
    quotas: createQuotas({
      tasks,
      workflows: workflowRecords,
      limits: {
        queuedTasksPerCustomer: config.MAX_QUEUED_TASKS_PER_CUSTOMER,
        runningWorkflowsPerCustomer: config.MAX_RUNNING_WORKFLOWS_PER_CUSTOMER,
      },
    }),
  });
  const graphql = createSubgraphServer<Context>({
    typeDefs,
    resolvers: createResolvers(tasks, replica),
    logger,
    production: config.NODE_ENV === 'production',
  });
  const context = contextFactory({
    tasks,
    workflows: workflowRecords,
    sagas: sagaRecords,
    orchestrator,
    logger,
    callerSecret: config.CALLER_TOKEN_SECRET,
  });
  const prefix = deps.consumerGroupPrefix ?? '';
  const fromBeginning = deps.fromBeginning ?? true;
  // A view: every process reads every instance event into its own replica (see createInstanceReplica),
  // so the group is this process's own, starts where the persisted replica is applied up to, and is
  // deleted when the process stops (groups left by crashed processes are deleted at the next start).
  const registryGroupBase = `${prefix}orchestration.registry`;
  const registry = bus.consumer({
    groupId: processGroupId(registryGroupBase),
    handlers: replica.handlers(),
    partitionsConsumedConcurrently: 3,
    keyConcurrency: 8,
    fromBeginning,
    startAt: replica.startAt,
    onCommit: (positions) => replica.savePositions(positions),
    deleteGroupOnStop: true,
  });
  // Work: each result and command is handled once, by whichever process holds its partition (the
  // task's state is in the database, and every write of it is guarded by its revision).
  const results = bus.consumer({
    groupId: `${prefix}orchestration.results`,
    handlers: resultHandlers(engine),
    partitionsConsumedConcurrently: 3,
    // Results and commands of different tasks are independent: their database writes overlap.
    keyConcurrency: 64,
  });
  const commands = bus.consumer({
    groupId: `${prefix}orchestration.commands`,
    handlers: commandHandlers({ engine, replica, defaults, clock: Date.now }),
    partitionsConsumedConcurrently: 3,
    keyConcurrency: 64,
  });
  let reconciler: NodeJS.Timeout | undefined;
  let reconciling: Promise<void> | undefined;
  const reconcile = () => {
    reconciling ??= Promise.all([workflows.reconcile(), sagas.reconcile()])
      .then(() => undefined)
      .catch((err: unknown) => logger.error({ err }, 'reconciling workflows and sagas failed'))
      .finally(() => (reconciling = undefined));
  };
  /** The end of each partition of the replica's topic: where a group that skips history starts. */
  const replicaTopicEnds = async () => {
    await bus.ensureTopics([REPLICA_TOPIC]);
    const admin = bus.kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(bus.topic(REPLICA_TOPIC));
      return offsets.map((o) => ({ topic: REPLICA_TOPIC, partition: o.partition, offset: o.high }));
    } finally {
      await admin.disconnect();
    }
  };
  // Housekeeping, off the start-up path: the groups of processes that died without deleting theirs.
  // At start, and again every minute: a process killed just before this one started is still a
  // member of its group until its session times out (10 s), and only an empty group can be deleted.
  let groupCleanup: Promise<unknown> | undefined;
  let groupCleaner: NodeJS.Timeout | undefined;
  const cleanGroups = () => {
    groupCleanup ??= deleteIdleGroups(bus.kafka, bus.groupId(registryGroupBase), logger).finally(
      () => (groupCleanup = undefined),
    );
  };
  // The replica is loaded before any consumer starts: a result redelivered at start-up advances a
  // workflow, and its next node must see the instances orchestration knew before it stopped
  // (else the node is REJECTED as if no agent offered the capability).
  const replicaLoader: Component = {
    name: 'replica',
    stage: 'storage',
    async start() {
      await replica.load(fromBeginning ? undefined : replicaTopicEnds);
      cleanGroups();
      groupCleaner = setInterval(cleanGroups, 60_000);
      groupCleaner.unref();
    },
    async stop() {
      clearInterval(groupCleaner);
      await groupCleanup;
    },
    ready: () => true,
  };
  const scheduler: Component = {
    name: 'scheduler',
    stage: 'work',
    async start() {
      await bus.ensureTopics([TASK_RESULTS_TOPIC]);
      await engine.start();
      reconcile();
      reconciler = setInterval(reconcile, config.ORCHESTRATION_RECONCILE_MS);
    },
    async stop() {
      clearInterval(reconciler);
      await reconciling;
      await engine.stop();
    },
    ready: () => engine.isRunning(),
  };
  const service: Service = createService<Context>({
    name: 'orchestration',
    logger,
    metrics: deps.metrics,
    graphql: { server: graphql, context },
    components: [
      mongoComponent(deps.connection),
      indexesComponent(tasks, workflowRecords, sagaRecords, replicaRecords, replicaPositions),
      replicaLoader,
      busComponent(bus),
      relayComponent(relay),
      consumerComponent(registry),
      consumerComponent(results),
      consumerComponent(commands),
      scheduler,
    ],
  });
  return {
    service,
    graphql,
    context,
    tasks,
    workflows: workflowRecords,
    sagas: sagaRecords,
    engine,
    replica,
    relay,
    bus,
    consumers: [registry, results, commands],
  };
}
