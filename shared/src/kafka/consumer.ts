import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage, Message } from 'kafkajs';
import type { BackoffPolicy } from '../backoff';
import { backoffDelay, delay } from '../backoff';
import type { Logger } from '../logger';
import type { PlatformMetrics } from '../metrics';
import type { Envelope } from './envelope';
import { InvalidEventError, parseEnvelope, parseEventData } from './envelope';
import type { EventData, EventDefinition } from './events';
import { dlqTopic } from './events';

export interface HandlerContext {
  topic: string;
  partition: number;
  offset: string;
  /** 1 for the first try, then 2, 3 ... while the handler keeps failing. */
  attempt: number;
  logger: Logger;
}

export type EventHandler<D extends EventDefinition> = (
  data: EventData<D>,
  envelope: Envelope<EventData<D>>,
  context: HandlerContext,
) => Promise<void>;

export interface HandlerBinding {
  definition: EventDefinition;
  handle: EventHandler<EventDefinition>;
}

/** Binds a handler to an event type with the data's type inferred from the definition. */
export function on<D extends EventDefinition>(definition: D, handle: EventHandler<D>): HandlerBinding {
  return { definition, handle };
}

/** A partition's position: the next offset to read (every message before it handled). */
export interface TopicPosition {
  topic: string;
  partition: number;
  offset: string;
}

export interface ConsumerOptions {
  groupId: string;
  handlers: HandlerBinding[];
  /** Tries per message before it goes to the DLQ (default 5). */
  maxAttempts?: number;
  retryBackoff?: BackoffPolicy;
  /** Where a group without committed offsets starts; default: the beginning, so nothing is missed. */
  fromBeginning?: boolean;
  partitionsConsumedConcurrently?: number;
  /**
   * Messages of one fetched batch handled at once, as long as their keys differ (one key's messages
   * still go one after the other, in order). 1 (the default) handles a partition strictly in order.
   * Handlers that wait on a database overlap their waits this way, so a partition keeps up with
   * hundreds of messages a second; offsets are still committed only up to what has been handled.
   */
  keyConcurrency?: number;
  /**
   * Messages whose key this refuses are skipped without being parsed (counted as ignored): for a
   * consumer that needs a few of a busy topic's messages and can tell them by key, such as support's
   * own tasks among every task update.
   */
  acceptKey?: (key: string) => boolean;
  /**
   * For consumers that need not hear of an event within milliseconds (projections, heartbeats,
   * breaker feeds): the broker answers a fetch once it has gathered this long (ms), so a busy topic
   * arrives in a few large batches instead of one fetch per message. Every fetch costs the broker
   * and the consumer the same whatever it carries: at hundreds of events a second, consumers that
   * each woke for every message kept the broker busy answering them. Unset (the default), a fetch
   * returns as soon as one message is there.
   */
  batchWindowMs?: number;
  /**
   * Where a new group starts, per partition (the next offset to read), given before it joins:
   * partitions not listed start per `fromBeginning`. For a group of one process that rebuilds a view
   * from a snapshot taken at these positions (see orchestration's instance replica). The positions
   * are committed at once, so a rejoin resumes from them rather than from the topic's start or end.
   */
  startAt?: () => Promise<TopicPosition[]>;
  /**
   * Told every position the consumer commits (the next offset to read; every message before it has
   * been handled), alongside the commit: a view kept in a database records how far it is applied.
   * A failure is logged, not retried: the next commit tells a newer position.
   */
  onCommit?: (positions: TopicPosition[]) => Promise<void>;
  /**
   * Deletes the group from the broker once the consumer has stopped and left it: for a group of one
   * process, which no later process joins again (else every restart would leave one behind).
   */
  deleteGroupOnStop?: boolean;
}

/**
 * The fetch settings of a consumer that takes its messages in windows of `windowMs` (see
 * `batchWindowMs`): it asks for more bytes than a window gathers, so the window decides.
 */
const fetchWindow = (windowMs: number) => ({ maxWaitTimeInMs: windowMs, minBytes: 4 * 1024 * 1024 });

export type ConsumerStatus = 'idle' | 'starting' | 'running' | 'stopped' | 'failed';

export interface EventConsumer {
  readonly groupId: string;
  readonly topics: string[];
  start(): Promise<void>;
  /** Stops fetching, lets the in-flight message finish, commits, and leaves the group. */
  stop(): Promise<void>;
  status(): ConsumerStatus;
  /** Resolves once the consumer has joined its group and received its partitions. */
  joined(): Promise<void>;
}

interface ConsumerDeps {
  logger: Logger;
  metrics?: PlatformMetrics;
  sendRaw(topic: string, messages: Message[]): Promise<void>;
  ensureTopics(topics: string[]): Promise<void>;
}

/** Handled offsets are committed once this many accumulate, or after COMMIT_INTERVAL_MS. */
const COMMIT_THRESHOLD = 1000;
const COMMIT_INTERVAL_MS = 1000;

const DEFAULT_RETRY: BackoffPolicy = { initialMs: 200, maxMs: 5_000, multiplier: 2, jitter: 'EQUAL' };

function dlqHeaders(
  original: IHeaders | undefined,
  info: {
    topic: string;
    partition: number;
    offset: string;
    groupId: string;
    reason: string;
    error: string;
    attempts: number;
  },
): IHeaders {
  return {
    ...(original ?? {}),
    'x-dlq-source-topic': info.topic,
    'x-dlq-source-partition': String(info.partition),
    'x-dlq-source-offset': info.offset,
    'x-dlq-consumer-group': info.groupId,
    'x-dlq-reason': info.reason,
    'x-dlq-error': info.error.slice(0, 4000),
    'x-dlq-attempts': String(info.attempts),
    'x-dlq-failed-at': new Date().toISOString(),
  };
}

/**
 * A consumer group that delivers validated events to typed handlers. Offsets are resolved only
 * after the handler succeeded (or the message was dead-lettered), and only resolved offsets are
 * committed, so a crash re-delivers rather than loses (handlers must be idempotent). A message that
 * cannot be parsed, fails its schema or keeps failing goes to `<topic>.dlq` with the error; the
 * consumer then moves on. If even the DLQ cannot be written, the batch fails and is re-fetched.
 */
export function createEventConsumer(
  kafka: Kafka,
  options: ConsumerOptions,
  deps: ConsumerDeps,
): EventConsumer {
  const { groupId } = options;
  const logger = deps.logger.child({ consumerGroup: groupId });
  const byType = new Map<string, HandlerBinding>();
  for (const binding of options.handlers) byType.set(binding.definition.type, binding);
  const topics = [...new Set(options.handlers.map((h) => h.definition.topic))];
  const maxAttempts = options.maxAttempts ?? 5;
  const keyConcurrency = Math.max(1, options.keyConcurrency ?? 1);
  const retry = options.retryBackoff ?? DEFAULT_RETRY;

  let consumer: Consumer | undefined;
  let state: ConsumerStatus = 'idle';
  let stopping = false;
  let markJoined: () => void = () => undefined;
  let joinedPromise = new Promise<void>((resolve) => (markJoined = resolve));
  /**
   * Offsets are committed by this consumer, not by kafkajs's autoCommit, which sends a commit after
   * every batch: at a few messages per fetch that was one commit request per message or two, the
   * busiest request type the broker served (each is a write to the offsets log). Handled offsets
   * collect here (the next offset to read, per topic-partition) and leave together once
   * COMMIT_THRESHOLD are handled or COMMIT_INTERVAL_MS has passed (a timer commits an idle tail),
   * and before the consumer leaves its group on stop. A crash re-delivers at most that much, as it
   * did before (handlers are idempotent).
   */
  const pending = new Map<string, { topic: string; partition: number; offset: string }>();
  /** The partitions this member was given at its last join (`topic:partition`). */
  let assigned = new Set<string>();
  let handledSinceCommit = 0;
  let lastCommitAt = Date.now();
  let committing: Promise<void> | undefined;
  let commitTimer: NodeJS.Timeout | undefined;
  const batches = new Set<Promise<void>>();

  const markHandled = (payload: EachBatchPayload, offset: string) => {
    payload.resolveOffset(offset);
    const { topic, partition } = payload.batch;
    pending.set(`${topic}:${partition}`, { topic, partition, offset: (BigInt(offset) + 1n).toString() });
    handledSinceCommit++;
  };

  const commitPending = (): Promise<void> => {
    if (committing) return committing;
    const c = consumer;
    if (!c || pending.size === 0) return Promise.resolve();
    const offsets = [...pending.values()];
    pending.clear();
    handledSinceCommit = 0;
    lastCommitAt = Date.now();
    const told = options
      .onCommit?.(offsets)
      .catch((err: unknown) =>
        logger.warn({ error: (err as Error).message }, 'recording committed positions failed'),
      );
    committing = c
      .commitOffsets(offsets)
      .catch((err: unknown) => {
        // A rebalance (or a broker restart) refused it: keep what nothing newer replaced, for the next
        // try, as long as the partition is still ours.
        for (const o of offsets) {
          const key = `${o.topic}:${o.partition}`;
          if (!pending.has(key) && assigned.has(key)) pending.set(key, o);
        }
        logger.debug({ error: (err as Error).message }, 'committing offsets failed; will retry');
      })
      .then(() => told)
      .finally(() => {
        committing = undefined;
      });
    return committing;
  };

  const commitIfDue = () =>
    handledSinceCommit >= COMMIT_THRESHOLD || Date.now() - lastCommitAt >= COMMIT_INTERVAL_MS
      ? commitPending()
      : Promise.resolve();

  const deadLetter = async (
    topic: string,
    partition: number,
    message: KafkaMessage,
    reason: string,
    error: string,
    attempts: number,
  ) => {
    await deps.sendRaw(dlqTopic(topic), [
      {
        key: message.key,
        value: message.value,
        headers: dlqHeaders(message.headers, {
          topic,
          partition,
          offset: message.offset,
          groupId,
          reason,
          error,
          attempts,
        }),
      },
    ]);
    deps.metrics?.eventsDeadLettered.inc({ topic, reason });
    logger.warn(
      { topic, partition, offset: message.offset, reason, error, attempts },
      'message sent to the dead-letter topic',
    );
  };

  /** Returns false when shutdown interrupted the retries: the message stays uncommitted for the next owner. */
  const processMessage = async (
    topic: string,
    partition: number,
    message: KafkaMessage,
    heartbeat: () => Promise<void>,
  ): Promise<boolean> => {
    let envelope: Envelope;
    let binding: HandlerBinding | undefined;
    let data: unknown;
    if (options.acceptKey && !options.acceptKey(message.key ? message.key.toString('utf8') : '')) {
      deps.metrics?.eventsConsumed.inc({ topic, outcome: 'ignored' });
      return true;
    }
    try {
      envelope = parseEnvelope(message.value);
      binding = byType.get(envelope.type);
      if (!binding) {
        // A shared topic (commands) may carry types another consumer handles.
        deps.metrics?.eventsConsumed.inc({ topic, outcome: 'ignored' });
        return true;
      }
      data = parseEventData(binding.definition, envelope);
    } catch (err) {
      if (!(err instanceof InvalidEventError)) throw err;
      await deadLetter(topic, partition, message, err.reason, err.message, 0);
      deps.metrics?.eventsConsumed.inc({ topic, outcome: 'poison' });
      return true;
    }
    let previousDelay = retry.initialMs;
    for (let attempt = 1; ; attempt++) {
      const context: HandlerContext = {
        topic,
        partition,
        offset: message.offset,
        attempt,
        logger: logger.child({
          eventId: envelope.id,
          eventType: envelope.type,
          traceparent: envelope.traceparent,
        }),
      };
      try {
        await binding.handle(data, envelope, context);
        deps.metrics?.eventsConsumed.inc({ topic, outcome: 'handled' });
        return true;
      } catch (err) {
        const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        if (attempt >= maxAttempts) {
          await deadLetter(topic, partition, message, 'handler-failed', error, attempt);
          deps.metrics?.eventsConsumed.inc({ topic, outcome: 'failed' });
          return true;
        }
        if (stopping) return false;
        previousDelay = backoffDelay(attempt, retry, previousDelay);
        context.logger.warn({ attempt, error, retryInMs: previousDelay }, 'event handler failed; retrying');
        await delay(previousDelay);
        await heartbeat();
      }
    }
  };

  /**
   * One batch with messages of different keys handled side by side (a key's messages in order), then
   * the offset resolved up to the last message before the first one that was not handled.
   */
  const handleConcurrently = async (payload: EachBatchPayload) => {
    const { batch } = payload;
    const heartbeat = () => payload.heartbeat();
    const lanes = new Map<string, KafkaMessage[]>();
    for (const message of batch.messages) {
      const key = message.key ? message.key.toString('latin1') : `offset:${message.offset}`;
      const lane = lanes.get(key);
      if (lane) lane.push(message);
      else lanes.set(key, [message]);
    }
    const handled = new Set<string>();
    const queue = [...lanes.values()];
    // The first error (the DLQ could not be written, a rebalance): the other workers take no further
    // message. The batch ends only once every worker has, so none is left handling messages of a
    // batch that kafkajs fetches again (one key's messages would then run twice at once, out of order).
    let failure: { error: unknown } | undefined;
    const worker = async () => {
      try {
        for (let lane = queue.shift(); lane && !failure; lane = queue.shift()) {
          for (const message of lane) {
            if (failure || !payload.isRunning() || payload.isStale()) return;
            if (!(await processMessage(batch.topic, batch.partition, message, heartbeat))) return;
            handled.add(message.offset);
            // Throttled by kafkajs: keeps the member in its group through a long batch (a replay).
            await heartbeat();
          }
        }
      } catch (error) {
        failure ??= { error };
      }
    };
    await Promise.all(Array.from({ length: Math.min(keyConcurrency, lanes.size) }, worker));
    let last: string | undefined;
    for (const message of batch.messages) {
      if (!handled.has(message.offset)) break;
      last = message.offset;
    }
    if (last !== undefined) markHandled(payload, last);
    // What was resolved is committed; kafkajs fetches the rest again.
    if (failure) throw failure.error;
    await commitIfDue();
    await heartbeat();
  };

  return {
    groupId,
    topics,
    status: () => state,
    joined: () => joinedPromise,
    async start() {
      if (state === 'running' || state === 'starting') return;
      stopping = false;
      state = 'starting';
      joinedPromise = new Promise<void>((resolve) => (markJoined = resolve));
      await deps.ensureTopics(topics);
      // A long-poll fetch returns as soon as data arrives; the wait only bounds idle polls and how long
      // a stop waits for the fetch in flight (kafkajs's default is 5 s).
      const c = kafka.consumer({
        groupId,
        allowAutoTopicCreation: false,
        ...(options.batchWindowMs ? fetchWindow(options.batchWindowMs) : { maxWaitTimeInMs: 1000 }),
        // A member that dies without leaving (SIGKILL) holds its partitions until its session
        // expires: 10 s rather than kafkajs's 30 s, so a restarted service resumes sooner. Every
        // handled message heartbeats (throttled to once a second), so slow handlers stay members.
        sessionTimeout: 10_000,
        heartbeatInterval: 1_000,
        retry: { retries: 10 },
      });
      consumer = c;
      c.on(c.events.GROUP_JOIN, ({ payload }) => {
        // After a rebalance, only partitions still ours may be committed by us.
        assigned = new Set(
          Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) =>
            partitions.map((partition) => `${topic}:${partition}`),
          ),
        );
        for (const key of pending.keys()) if (!assigned.has(key)) pending.delete(key);
        state = 'running';
        markJoined();
      });
      c.on(c.events.CRASH, ({ payload }) => {
        if (!payload.restart) state = 'failed';
        logger.error({ error: payload.error.message, restart: payload.restart }, 'consumer crashed');
      });
      await c.connect();
      await c.subscribe({ topics, fromBeginning: options.fromBeginning ?? true });
      // Read before run(): the seeks must follow it synchronously, before the first fetch is handled.
      const startAt = (await options.startAt?.()) ?? [];
      await c.run({
        // Committed by markHandled/commitPending (see `pending`).
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
        eachBatch: (payload) => {
          const running = handleBatch(payload);
          batches.add(running);
          return running.finally(() => batches.delete(running));
        },
      });
      // run() resolves once the group is joined (partitions assigned) and before anything fetched is
      // handled; a pending seek also discards a fetch already in flight.
      for (const position of startAt) {
        c.seek(position);
        pending.set(`${position.topic}:${position.partition}`, position);
      }
      commitTimer = setInterval(() => void commitPending(), COMMIT_INTERVAL_MS);
      commitTimer.unref();
    },
    async stop() {
      if (!consumer) return;
      stopping = true;
      const c = consumer;
      clearInterval(commitTimer);
      // Take no new batch, let the running ones end, commit what they handled, then leave the group
      // (disconnect() would wait for a running batch too, but commits nothing once autoCommit is off).
      try {
        c.pause(topics.map((topic) => ({ topic })));
      } catch {
        // not running yet: nothing was fetched
      }
      await Promise.allSettled([...batches]);
      for (let round = 0; round < 3 && (pending.size > 0 || committing); round++)
        await (committing ?? commitPending());
      consumer = undefined;
      await c.disconnect();
      state = 'stopped';
      if (options.deleteGroupOnStop) {
        // The member has left: the group is empty, and the broker deletes an empty group on request.
        const admin = kafka.admin();
        try {
          await admin.connect();
          await admin.deleteGroups([groupId]);
        } catch (err) {
          logger.warn({ error: (err as Error).message }, 'could not delete the consumer group');
        } finally {
          await admin.disconnect().catch(() => undefined);
        }
      }
    },
  };

  async function handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const heartbeat = () => payload.heartbeat();
    if (keyConcurrency > 1 && batch.messages.length > 1) {
      await handleConcurrently(payload);
      return;
    }
    for (const message of batch.messages) {
      if (!payload.isRunning() || payload.isStale()) break;
      if (!(await processMessage(batch.topic, batch.partition, message, heartbeat))) break;
      markHandled(payload, message.offset);
      await commitIfDue();
      await heartbeat();
    }
  }
}
