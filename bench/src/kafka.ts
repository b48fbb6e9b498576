import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { EventBus } from '@waooaw/shared';
import {
  createEventBus,
  createLogger,
  discoveryEvents,
  ORCHESTRATION_COMMANDS_TOPIC,
  orchestrationCommands,
  orchestrationEvents,
} from '@waooaw/shared';
import type { AttemptFinished, TaskUpdate } from './tracker';

/** What the bench reads of `discovery.instance.changed`. */
export interface InstanceView {
  instanceId: string;
  runtimeId: string | null;
  health: string;
  circuit: string;
  change: string;
}

export interface BenchListeners {
  onTaskUpdated?(eventId: string, update: TaskUpdate, at: number): void;
  onAttemptFinished?(eventId: string, attempt: AttemptFinished): void;
  onInstanceChanged?(view: InstanceView): void;
  onCircuitChanged?(change: { instanceId: string; from: string; to: string }): void;
  onWorkflowUpdated?(update: {
    workflowId: string;
    status: string;
    nodeId: string | null;
    nodeStatus: string | null;
  }): void;
  /** Sizes of consumed task.updated messages (the raw ceiling uses the same size). */
  onBytes?(bytes: number): void;
}

type Envelope = { id?: unknown; type?: unknown; data?: Record<string, unknown> };

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * The bench's Kafka side: a producer of submit commands (the platform's own event bus, so commands
 * are enveloped and validated like any client's), and one consumer of the events it measures by.
 * The consumer group is new for each run and starts at the end offsets read before it joined, so it
 * sees every event from then on and none of the topics' history. `namespace` is the platform's
 * WAOOAW_NAMESPACE: the bench reads and writes that platform's topics.
 */
export async function createBenchKafka(
  platform: { brokers: string[]; namespace: string },
  runId: string,
  initial: BenchListeners = {},
) {
  const sets = new Set<BenchListeners>([initial]);
  // One object whose methods call every registered set (the examples add and remove theirs).
  const listeners: Required<BenchListeners> = {
    onTaskUpdated: (...a) => sets.forEach((l) => l.onTaskUpdated?.(...a)),
    onAttemptFinished: (...a) => sets.forEach((l) => l.onAttemptFinished?.(...a)),
    onInstanceChanged: (...a) => sets.forEach((l) => l.onInstanceChanged?.(...a)),
    onCircuitChanged: (...a) => sets.forEach((l) => l.onCircuitChanged?.(...a)),
    onWorkflowUpdated: (...a) => sets.forEach((l) => l.onWorkflowUpdated?.(...a)),
    onBytes: (...a) => sets.forEach((l) => l.onBytes?.(...a)),
  };
  const logger = createLogger('bench', process.env.LOG_LEVEL === 'debug' ? 'debug' : 'error');
  const bus: EventBus = createEventBus({
    brokers: platform.brokers,
    namespace: platform.namespace,
    service: 'bench',
    logger,
  });
  await bus.connect();
  const topics = [
    orchestrationEvents.taskUpdated.topic,
    orchestrationEvents.attemptFinished.topic,
    discoveryEvents.instanceChanged.topic,
    discoveryEvents.circuitChanged.topic,
    orchestrationEvents.workflowUpdated.topic,
  ];
  await bus.ensureTopics([ORCHESTRATION_COMMANDS_TOPIC, ...topics]);
  // The raw consumer below reads the topics by their names on the broker; `handle` gets logical ones.
  const logicalOf = new Map(topics.map((topic) => [bus.topic(topic), topic]));
  const admin = bus.kafka.admin();
  await admin.connect();
  const ends = await Promise.all(
    [...logicalOf.keys()].map(async (topic) => ({ topic, offsets: await admin.fetchTopicOffsets(topic) })),
  );
  await admin.disconnect();

  const consumer: Consumer = bus.kafka.consumer({
    groupId: bus.groupId(`bench-${runId}`),
    maxWaitTimeInMs: 100,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
  });
  let markJoined!: () => void;
  const joined = new Promise<void>((resolve) => (markJoined = resolve));
  consumer.on(consumer.events.GROUP_JOIN, () => markJoined());
  await consumer.connect();
  await consumer.subscribe({ topics: [...logicalOf.keys()], fromBeginning: false });

  const handle = (topic: string, value: Buffer | null) => {
    if (!value) return;
    const at = performance.now();
    let envelope: Envelope;
    try {
      envelope = JSON.parse(value.toString()) as Envelope;
    } catch {
      return;
    }
    const id = str(envelope.id);
    const d = envelope.data;
    if (!id || !d) return;
    if (topic === orchestrationEvents.taskUpdated.topic) {
      const taskId = str(d.taskId);
      const status = str(d.status);
      if (!taskId || !status) return;
      listeners.onBytes(value.length);
      listeners.onTaskUpdated(
        id,
        {
          taskId,
          status,
          attempts: num(d.attempts) ?? 0,
          instanceId: str(d.instanceId),
          durationMs: num(d.durationMs),
          error: str(d.error),
          output: d.output && typeof d.output === 'object' ? (d.output as { content: string }) : null,
        },
        at,
      );
    } else if (topic === orchestrationEvents.attemptFinished.topic) {
      const taskId = str(d.taskId);
      const instanceId = str(d.instanceId);
      const outcome = str(d.outcome);
      const attempt = num(d.attempt);
      if (taskId && instanceId && outcome && attempt !== null)
        listeners.onAttemptFinished(id, { taskId, attempt, instanceId, outcome });
    } else if (topic === discoveryEvents.instanceChanged.topic) {
      const instance = d.instance as Record<string, unknown> | undefined;
      const instanceId = str(instance?.instanceId);
      if (!instance || !instanceId) return;
      const breaker = instance.circuit;
      listeners.onInstanceChanged({
        instanceId,
        runtimeId: str(instance.runtimeId),
        health: str(instance.health) ?? 'UNKNOWN',
        circuit: str(breaker) ?? 'CLOSED',
        change: str(d.change) ?? 'UPDATED',
      });
    } else if (topic === orchestrationEvents.workflowUpdated.topic) {
      const workflowId = str(d.workflowId);
      const status = str(d.status);
      if (workflowId && status)
        listeners.onWorkflowUpdated({
          workflowId,
          status,
          nodeId: str(d.nodeId),
          nodeStatus: str(d.nodeStatus),
        });
    } else if (topic === discoveryEvents.circuitChanged.topic) {
      const instanceId = str(d.instanceId);
      const from = str(d.from);
      const to = str(d.to);
      if (instanceId && from && to) listeners.onCircuitChanged({ instanceId, from, to });
    }
  };

  await consumer.run({
    partitionsConsumedConcurrently: 4,
    // The run's own group, moved to the end above and never resumed: its offsets are not worth the
    // commit kafkajs would send after every batch (the broker's work, which the bench measures).
    autoCommit: false,
    eachBatchAutoResolve: true,
    eachBatch: async ({ batch }: EachBatchPayload) => {
      const topic = logicalOf.get(batch.topic) ?? batch.topic;
      for (const message of batch.messages) handle(topic, message.value);
    },
  });
  for (const { topic, offsets } of ends)
    for (const o of offsets) consumer.seek({ topic, partition: o.partition, offset: o.high });
  await joined;

  return {
    bus,
    /** Adds listeners; returns what removes them. */
    listen(more: BenchListeners): () => void {
      sets.add(more);
      return () => sets.delete(more);
    },
    /**
     * Submits tasks over Kafka in one produce request; resolves when the broker has them all. A
     * command's `customerId` makes the task that customer's (they may read it and hear its updates).
     */
    async submit(
      commands: { taskId: string; spec: Record<string, unknown>; customerId?: string | null }[],
    ): Promise<void> {
      await bus.publishAll(
        orchestrationCommands.submitTask,
        commands.map((c) => ({
          data: { taskId: c.taskId, actor: 'bench', customerId: c.customerId ?? null, spec: c.spec },
          options: { subject: c.taskId },
        })),
      );
    },
    async close() {
      await consumer.disconnect();
      await bus.disconnect();
    },
  };
}

export type BenchKafka = Awaited<ReturnType<typeof createBenchKafka>>;
