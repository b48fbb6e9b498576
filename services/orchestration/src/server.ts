import type { Component, SubgraphDeps } from '@waooaw/shared';
import {
  deleteIdleGroups,
  periodic,
  processGroupId,
  retryTransient,
  subgraphSchema,
  subgraphWiring,
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
import { taskMetrics } from './task-metrics';
import { createWorkflowEngine } from './workflows';

export { environmentSchema } from './environment';

export const typeDefs = subgraphSchema('orchestration');

export type OrchestrationDeps = SubgraphDeps<
  Pick<
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
  >
>;

/** Builds the orchestration service from its dependencies; tests use it without a port. */
export function createServer(deps: OrchestrationDeps) {
  const { logger, bus, config } = deps;
  const subgraph = subgraphWiring(deps);
  const tasks = taskModel(deps.connection);
  const workflowRecords = workflowModel(deps.connection);
  const sagaRecords = sagaModel(deps.connection);
  const replicaRecords = instanceReplicaModel(deps.connection);
  const replicaPositions = replicaPositionModel(deps.connection);
  // Writers hand their events to the relay as they write (publishWritten); the scan only picks up
  // what a crashed process left behind (at start, once its claims expire, then as a safety net),
  // and on mongo-java-server every scan reads the whole task collection.
  const relay = subgraph.relay([tasks, workflowRecords], 60_000);
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
  engine.onFinal(taskMetrics(deps.metrics.registry));
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
  const context = contextFactory({
    tasks,
    workflows: workflowRecords,
    sagas: sagaRecords,
    orchestrator,
    logger,
    callerSecret: config.CALLER_TOKEN_SECRET,
  });
  // A view: every process reads every instance event into its own replica (see createInstanceReplica),
  // so the group is this process's own, starts where the persisted replica is applied up to, and is
  // deleted when the process stops (groups left by crashed processes are deleted at the next start).
  const registryGroupBase = 'orchestration.registry';
  const registry = subgraph.consumer({
    group: processGroupId(registryGroupBase),
    handlers: replica.handlers(),
    partitionsConsumedConcurrently: 3,
    keyConcurrency: 8,
    projection: true,
    startAt: replica.startAt,
    onCommit: (positions) => replica.savePositions(positions),
    deleteGroupOnStop: true,
  });
  // Work: each result and command is handled once, by whichever process holds its partition (the
  // task's state is in the database, and every write of it is guarded by its revision).
  const results = subgraph.consumer({
    group: 'orchestration.results',
    handlers: resultHandlers(engine),
    partitionsConsumedConcurrently: 3,
    // Results and commands of different tasks are independent: their database writes overlap.
    keyConcurrency: 64,
  });
  engine.hearResultsFrom(results);
  const commands = subgraph.consumer({
    group: 'orchestration.commands',
    handlers: commandHandlers({ engine, replica, defaults, clock: Date.now }),
    partitionsConsumedConcurrently: 3,
    keyConcurrency: 64,
  });
  const reconciler = periodic({
    what: 'reconciling workflows and sagas',
    intervalMs: config.ORCHESTRATION_RECONCILE_MS,
    run: () => Promise.all([workflows.reconcile(), sagas.reconcile()]),
    logger,
    runAtStart: true,
  });
  /** The end of each partition of the replica's topic: where a group that skips history starts. */
  const replicaTopicEnds = async () => {
    await bus.ensureTopics([REPLICA_TOPIC]);
    const admin = bus.kafka.admin();
    await admin.connect();
    try {
      // A topic created a moment ago (ensureTopics above, in a new namespace) may still be electing
      // its leaders: kafkajs answers "not the leader" without retrying it here.
      const offsets = await retryTransient(() => admin.fetchTopicOffsets(bus.topic(REPLICA_TOPIC)));
      return offsets.map((o) => ({ topic: REPLICA_TOPIC, partition: o.partition, offset: o.high }));
    } finally {
      await admin.disconnect();
    }
  };
  // Housekeeping, off the start-up path: the groups of processes that died without deleting theirs.
  // At start, and again every minute: a process killed just before this one started is still a
  // member of its group until its session times out (10 s), and only an empty group can be deleted.
  const groupCleaner = periodic({
    what: 'deleting idle consumer groups',
    intervalMs: 60_000,
    run: () => deleteIdleGroups(bus.kafka, bus.groupId(subgraph.group(registryGroupBase)), logger),
    logger,
    runAtStart: true,
  });
  // The replica is loaded before any consumer starts: a result redelivered at start-up advances a
  // workflow, and its next node must see the instances orchestration knew before it stopped
  // (else the node is REJECTED as if no agent offered the capability).
  const replicaLoader: Component = {
    name: 'replica',
    stage: 'storage',
    async start() {
      await replica.load(subgraph.fromBeginning ? undefined : replicaTopicEnds);
      groupCleaner.start();
    },
    stop: () => groupCleaner.stop(),
    ready: () => true,
  };
  const scheduler: Component = {
    name: 'scheduler',
    stage: 'work',
    async start() {
      await bus.ensureTopics([TASK_RESULTS_TOPIC]);
      await engine.start();
      reconciler.start();
    },
    async stop() {
      await reconciler.stop();
      await engine.stop();
    },
    ready: () => engine.isRunning(),
  };
  const { service, graphql } = subgraph.service<Context>({
    name: 'orchestration',
    typeDefs,
    resolvers: createResolvers(tasks, replica),
    context,
    models: [tasks, workflowRecords, sagaRecords, replicaRecords, replicaPositions],
    relay,
    consumers: [registry, results, commands],
    components: [replicaLoader, scheduler],
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
    metrics: deps.metrics,
    consumers: [registry, results, commands],
  };
}
