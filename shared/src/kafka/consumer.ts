import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage, Message } from 'kafkajs';
import type { BackoffPolicy } from '../backoff';
import { backoffDelay } from '../backoff';
import { errorSummary, isTransientError, transientEvidence } from '../faults';
import type { Logger } from '../logger';
import type { PlatformMetrics } from '../metrics';
import type { Envelope } from './envelope';
import { headerValues, InvalidEventError, parseEnvelope, parseEventData } from './envelope';
import type { EventData, EventDefinition } from './events';
import { dlqTopic } from './events';
import { inSpan, SpanKind } from '../tracing/spans';

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
  /**
   * Tries per message before it goes to the DLQ (default 5). Only permanent failures count: a
   * transient one (see isTransientError: MongoDB or Kafka unreachable, timeouts, not-primary ...)
   * pauses the partition and is retried for as long as it takes, never dead-lettered.
   */
  maxAttempts?: number;
  /** Delays between the tries of a message whose handler failed permanently (in place). */
  retryBackoff?: BackoffPolicy;
  /** Delays before a partition paused by a transient failure is fetched again (capped, jittered). */
  waitBackoff?: BackoffPolicy;
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
 * `batchWindowMs`; the gateway's live feeds use it too): it asks for more bytes than a window
 * gathers, so the window decides.
 */
export const fetchWindow = (windowMs: number) => ({ maxWaitTimeInMs: windowMs, minBytes: 4 * 1024 * 1024 });

export type ConsumerStatus = 'idle' | 'starting' | 'running' | 'stopped' | 'failed';

/** A partition paused while a transient failure is waited out (see EventConsumer.waiting). */
export interface PartitionWait {
  groupId: string;
  topic: string;
  partition: number;
  /** The message that waits: nothing at or after it is committed until it is handled. */
  offset: string;
  /** When the first try of this outage failed (ISO 8601). */
  since: string;
  /** Transient failures so far in this outage. */
  tries: number;
  /** The last error, `Name: message`. */
  error: string;
}

export interface EventConsumer {
  readonly groupId: string;
  readonly topics: string[];
  start(): Promise<void>;
  /** Stops fetching, lets the in-flight message finish, commits, and leaves the group. */
  stop(): Promise<void>;
  status(): ConsumerStatus;
  /**
   * The partitions paused while a transient failure (a dependency down) is waited out; empty when
   * every partition flows. Readiness reports them (see busComponent).
   */
  waiting(): PartitionWait[];
  /** Resolves once the consumer has joined its group and received its partitions. */
  joined(): Promise<void>;
}

interface ConsumerDeps {
  /** The consuming service: its tracer's name, for the span of each handled message. */
  service: string;
  logger: Logger;
  metrics?: PlatformMetrics;
  sendRaw(topic: string, messages: Message[]): Promise<void>;
  ensureTopics(topics: string[]): Promise<void>;
}

/** Handled offsets are committed once this many accumulate, or after COMMIT_INTERVAL_MS. */
const COMMIT_THRESHOLD = 1000;
const COMMIT_INTERVAL_MS = 1000;

const DEFAULT_RETRY: BackoffPolicy = { initialMs: 200, maxMs: 5_000, multiplier: 2, jitter: 'EQUAL' };
/**
 * Capped at 5 s: once the dependency is back, a paused partition resumes within that (plus one fetch),
 * and a long outage costs one fetch per partition every few seconds. Equal jitter keeps the consumers
 * of many services from retrying in step when a shared MongoDB returns.
 */
const DEFAULT_WAIT: BackoffPolicy = { initialMs: 200, maxMs: 5_000, multiplier: 2, jitter: 'EQUAL' };

const secondsSince = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9;

/** What became of one message. */
type Outcome = 'done' | 'stopped' | 'waiting';

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
 * consumer then moves on. A DLQ that cannot be written for now (Kafka unreachable) is waited out like
 * any transient failure; any other failure to write it fails the batch, which is re-fetched.
 *
 * A transient failure (isTransientError: MongoDB or Kafka unreachable, a timeout, not-primary, a reset
 * connection) is no fault of the message and is never dead-lettered: the partition is paused
 * (kafkajs `pause`), the batch ends with the message unresolved, and a timer resumes the partition
 * after a capped, jittered backoff, so kafkajs fetches the same message again, for as long as the
 * outage lasts. Pausing rather than retrying inside the batch keeps the rest right: the member stays
 * in its group (kafkajs's fetch loop goes on heartbeating, as it does for any paused partition), a
 * rebalance or a stop() is not held up by a batch sleeping through the outage (the message simply
 * stays uncommitted for whoever owns the partition next), the partition's order holds (nothing after
 * the waiting message is resolved), and the consumer's other partitions keep flowing when only some
 * messages need the missing dependency. `waiting()` lists the paused partitions for readiness.
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
  const waitPolicy = options.waitBackoff ?? DEFAULT_WAIT;

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
  /** Paused partitions (`topic:partition`) and the timer that resumes each. */
  const waits = new Map<
    string,
    {
      wait: PartitionWait;
      sinceMs: number;
      previousDelay: number;
      timer?: NodeJS.Timeout;
      /** The batch that last paused it: the messages of one batch that wait count as one try. */
      batch?: object;
    }
  >();
  /**
   * Tries and permanent failures of the messages being retried (`topic:partition:offset`); kept
   * across a pause, so a message that alternates between an outage and a real fault still reaches
   * maxAttempts. Only failing messages are here, and only while they are ours.
   */
  const tries = new Map<string, { tries: number; failures: number }>();
  /** Wakes the in-place retry delays when the consumer stops. */
  const sleepers = new Set<() => void>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      sleepers.add(wake);
    });

  /**
   * The partitions whose lag this member reports (`topic:partition`). A partition leaves the gauge
   * when a rebalance takes it away or the consumer stops: its new owner reports it, and a stale value
   * here would count its lag twice.
   */
  const lagReported = new Set<string>();
  /** Sets the lag of the batch's partition once its messages up to `lastHandled` are handled (none: undefined). */
  const reportLag = (batch: EachBatchPayload['batch'], lastHandled: string | undefined) => {
    const metrics = deps.metrics;
    if (!metrics) return;
    const { topic, partition } = batch;
    const key = `${topic}:${partition}`;
    // A batch that ends after a rebalance took its partition away: the new owner reports it.
    if (!assigned.has(key)) return;
    // The next message to handle: after the last one handled, else the batch's first.
    const next =
      lastHandled !== undefined
        ? BigInt(lastHandled) + 1n
        : BigInt(batch.messages[0]?.offset ?? batch.highWatermark);
    // highWatermark is the offset the partition's next message will get: what lies between is unhandled.
    const lag = Number(BigInt(batch.highWatermark) - next);
    metrics.consumerLag.set({ group: groupId, topic, partition: String(partition) }, Math.max(0, lag));
    lagReported.add(key);
  };
  const forgetLag = (keep: (key: string) => boolean) => {
    for (const key of lagReported) {
      if (keep(key)) continue;
      lagReported.delete(key);
      const at = key.lastIndexOf(':');
      deps.metrics?.consumerLag.remove({
        group: groupId,
        topic: key.slice(0, at),
        partition: key.slice(at + 1),
      });
    }
  };

  /**
   * Handler timings and errors by the labels of each event type (looked up once per type rather
   * than hashed from the label values at every message).
   */
  const handlerMetrics = new Map<
    string,
    { duration: { observe(seconds: number): void }; transient: { inc(): void }; permanent: { inc(): void } }
  >();
  const handlerMetricsFor = (topic: string, type: string) => {
    const metrics = deps.metrics;
    if (!metrics) return undefined;
    const key = `${topic}\n${type}`;
    let found = handlerMetrics.get(key);
    if (!found) {
      found = {
        duration: metrics.eventHandlerDuration.labels({ topic, type }),
        transient: metrics.eventHandlerErrors.labels({ topic, type, kind: 'transient' }),
        permanent: metrics.eventHandlerErrors.labels({ topic, type, kind: 'permanent' }),
      };
      handlerMetrics.set(key, found);
    }
    return found;
  };

  const reportWaits = (topic: string) => {
    let paused = 0;
    for (const { wait } of waits.values()) if (wait.topic === topic) paused++;
    deps.metrics?.consumerPausedPartitions.set({ group: groupId, topic }, paused);
  };

  /**
   * Pauses the partition of a message whose handling failed transiently and schedules its resume;
   * the caller ends the batch without resolving the message, so it is fetched again after the resume.
   * `batch` identifies the fetched batch: with keyConcurrency several of its messages may fail, and
   * the first of them is where fetching resumes.
   */
  const waitOut = (batch: object, topic: string, partition: number, offset: string, err: unknown) => {
    const c = consumer;
    // Stopping: the batch ends and the message stays for the next owner. No pause of one partition
    // either: kafkajs would lift the topic-wide pause stop() has set.
    if (!c || stopping) return;
    const key = `${topic}:${partition}`;
    const error = errorSummary(err);
    let entry = waits.get(key);
    if (!entry) {
      const now = Date.now();
      entry = {
        wait: { groupId, topic, partition, offset, since: new Date(now).toISOString(), tries: 0, error },
        sinceMs: now,
        previousDelay: waitPolicy.initialMs,
      };
      waits.set(key, entry);
    }
    const { wait } = entry;
    wait.error = error;
    deps.metrics?.consumerTransientFailures.inc({ topic });
    if (entry.batch === batch) {
      if (BigInt(offset) < BigInt(wait.offset)) wait.offset = offset;
      return;
    }
    entry.batch = batch;
    wait.offset = offset;
    wait.tries++;
    c.pause([{ topic, partitions: [partition] }]);
    clearTimeout(entry.timer);
    entry.previousDelay = backoffDelay(wait.tries, waitPolicy, entry.previousDelay);
    const resumeAfter = entry.previousDelay;
    entry.timer = setTimeout(() => {
      if (!stopping && consumer === c) c.resume([{ topic, partitions: [partition] }]);
    }, resumeAfter);
    reportWaits(topic);
    const log = {
      topic,
      partition,
      offset,
      error,
      cause: transientEvidence(err),
      tries: wait.tries,
      retryInMs: resumeAfter,
    };
    if (wait.tries === 1)
      logger.warn(log, 'a dependency is unavailable: partition paused, its message waits (no dead letter)');
    else logger.info(log, 'dependency still unavailable: partition stays paused');
  };

  /** The partition's batch went through without a transient failure: the outage is over for it. */
  const endWait = (topic: string, partition: number) => {
    const key = `${topic}:${partition}`;
    const entry = waits.get(key);
    if (!entry) return;
    clearTimeout(entry.timer);
    waits.delete(key);
    reportWaits(topic);
    logger.info(
      { topic, partition, tries: entry.wait.tries, waitedMs: Date.now() - entry.sinceMs },
      'dependency back: partition resumed',
    );
  };

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

  /**
   * Handles one message: 'done' once handled or dead-lettered, 'waiting' when a transient failure
   * paused its partition (see waitOut), 'stopped' when shutdown interrupted its retries. Unless done,
   * the message stays unresolved and uncommitted: fetched again after the resume, or by the next owner.
   */
  const processMessage = async (
    batch: { topic: string; partition: number },
    message: KafkaMessage,
    heartbeat: () => Promise<void>,
  ): Promise<Outcome> => {
    const { topic, partition } = batch;
    let envelope: Envelope;
    let binding: HandlerBinding | undefined;
    let data: unknown;
    if (options.acceptKey && !options.acceptKey(message.key ? message.key.toString('utf8') : '')) {
      deps.metrics?.eventsConsumed.inc({ topic, outcome: 'ignored' });
      return 'done';
    }
    /** Writes a dead letter; a transient failure to write it waits like any other. */
    const deadLettered = async (reason: string, error: string, attempts: number): Promise<boolean> => {
      try {
        await deadLetter(topic, partition, message, reason, error, attempts);
        return true;
      } catch (err) {
        if (!isTransientError(err)) throw err;
        waitOut(batch, topic, partition, message.offset, err);
        return false;
      }
    };
    try {
      envelope = parseEnvelope(message.value);
      binding = byType.get(envelope.type);
      if (!binding) {
        // A shared topic (commands) may carry types another consumer handles.
        deps.metrics?.eventsConsumed.inc({ topic, outcome: 'ignored' });
        return 'done';
      }
      data = parseEventData(binding.definition, envelope);
    } catch (err) {
      if (!(err instanceof InvalidEventError)) throw err;
      if (!(await deadLettered(err.reason, err.message, 0))) return 'waiting';
      deps.metrics?.eventsConsumed.inc({ topic, outcome: 'poison' });
      return 'done';
    }
    const id = `${topic}:${partition}:${message.offset}`;
    const record = tries.get(id) ?? { tries: 0, failures: 0 };
    tries.set(id, record);
    let previousDelay = retry.initialMs;
    const measured = handlerMetricsFor(topic, envelope.type);
    for (;;) {
      record.tries++;
      const context: HandlerContext = {
        topic,
        partition,
        offset: message.offset,
        attempt: record.tries,
        logger: logger.child({
          eventId: envelope.id,
          eventType: envelope.type,
          traceparent: envelope.traceparent,
        }),
      };
      const started = measured ? process.hrtime.bigint() : 0n;
      try {
        await inSpan(
          deps.service,
          () => ({
            name: `process ${envelope.type}`,
            kind: SpanKind.CONSUMER,
            // The header is what the producer sent (the same as the envelope's, which a header-less
            // copy of the message, such as a dead letter replayed by hand, still carries).
            parent: headerValues(message.headers?.traceparent)[0] ?? envelope.traceparent,
            attributes: {
              'messaging.system': 'kafka',
              'messaging.destination.name': topic,
              'messaging.consumer.group.name': options.groupId,
              'messaging.message.id': envelope.id,
              'messaging.kafka.offset': Number(message.offset),
              'messaging.destination.partition.id': String(partition),
              'waooaw.attempt': record.tries,
            },
          }),
          () => binding.handle(data, envelope, context),
        );
        measured?.duration.observe(secondsSince(started));
        tries.delete(id);
        deps.metrics?.eventsConsumed.inc({ topic, outcome: 'handled' });
        return 'done';
      } catch (err) {
        measured?.duration.observe(secondsSince(started));
        if (isTransientError(err)) {
          measured?.transient.inc();
          waitOut(batch, topic, partition, message.offset, err);
          return 'waiting';
        }
        measured?.permanent.inc();
        const error = errorSummary(err);
        record.failures++;
        if (record.failures >= maxAttempts) {
          if (!(await deadLettered('handler-failed', error, record.tries))) return 'waiting';
          tries.delete(id);
          deps.metrics?.eventsConsumed.inc({ topic, outcome: 'failed' });
          return 'done';
        }
        if (stopping) return 'stopped';
        previousDelay = backoffDelay(record.failures, retry, previousDelay);
        context.logger.warn(
          { attempt: record.tries, failures: record.failures, error, retryInMs: previousDelay },
          'event handler failed; retrying',
        );
        await sleep(previousDelay);
        if (stopping) return 'stopped';
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
    // A transient failure (the partition paused) ends the batch the same way, without an error.
    let failure: { error: unknown } | undefined;
    let waiting = false;
    const worker = async () => {
      try {
        for (let lane = queue.shift(); lane && !failure && !waiting; lane = queue.shift()) {
          for (const message of lane) {
            if (failure || waiting || !payload.isRunning() || payload.isStale()) return;
            const outcome = await processMessage(batch, message, heartbeat);
            if (outcome === 'waiting') waiting = true;
            if (outcome !== 'done') return;
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
    reportLag(batch, last);
    // What was resolved is committed; kafkajs fetches the rest again.
    if (failure) throw failure.error;
    if (!waiting && handled.size === batch.messages.length) endWait(batch.topic, batch.partition);
    await commitIfDue();
    await heartbeat();
  };

  return {
    groupId,
    topics,
    status: () => state,
    waiting: () => [...waits.values()].map(({ wait }) => ({ ...wait })),
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
        forgetLag((key) => assigned.has(key));
        // A waiting partition that moved to another member is that member's to retry. Resumed here
        // because kafkajs keeps a partition's pause across assignments: were it assigned back to us
        // later, it would otherwise never be fetched.
        for (const [key, entry] of waits)
          if (!assigned.has(key)) {
            clearTimeout(entry.timer);
            waits.delete(key);
            c.resume([{ topic: entry.wait.topic, partitions: [entry.wait.partition] }]);
            reportWaits(entry.wait.topic);
          }
        for (const key of tries.keys())
          if (!assigned.has(key.slice(0, key.lastIndexOf(':')))) tries.delete(key);
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
      // A retry sleeping between tries ends now (its message stays uncommitted, for the next owner).
      for (const wake of [...sleepers]) wake();
      // Take no new batch, let the running ones end, commit what they handled, then leave the group
      // (disconnect() would wait for a running batch too, but commits nothing once autoCommit is off).
      try {
        c.pause(topics.map((topic) => ({ topic })));
      } catch {
        // not running yet: nothing was fetched
      }
      await Promise.allSettled([...batches]);
      // Waiting partitions stay uncommitted at their waiting message, for the next owner.
      for (const [key, entry] of waits) {
        clearTimeout(entry.timer);
        waits.delete(key);
        reportWaits(entry.wait.topic);
      }
      for (let round = 0; round < 3 && (pending.size > 0 || committing); round++)
        await (committing ?? commitPending());
      consumer = undefined;
      forgetLag(() => false);
      await c.disconnect();
      tries.clear();
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
    let outcome: Outcome = 'done';
    let handled = 0;
    for (const message of batch.messages) {
      if (!payload.isRunning() || payload.isStale()) break;
      outcome = await processMessage(batch, message, heartbeat);
      if (outcome !== 'done') break;
      markHandled(payload, message.offset);
      handled++;
      await commitIfDue();
      await heartbeat();
    }
    if (outcome === 'done' && handled === batch.messages.length) endWait(batch.topic, batch.partition);
    reportLag(batch, handled > 0 ? batch.messages[handled - 1]!.offset : undefined);
  }
}
