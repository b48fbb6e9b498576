import type { ExecutionArgs, ExecutionResult, FieldNode } from 'graphql';
import { GraphQLError } from 'graphql';
import { getArgumentValues } from 'graphql/execution/values';
import type { Logger } from '@waooaw/shared';
import { ErrorCode, subscriptionFeeds, toPlatformError } from '@waooaw/shared';
import type { Context } from '../context';
import { eventFilter, eventRoute, feedAccess } from './access';
import type { FeedEvent, KafkaFeeds, Replay } from './feed';
import type { PublicFields } from './audience';
import { callerAudience, isPublicPayloadField, payloadAudience } from './audience';
import type { EntityResolver } from './entities';
import type { KeptAnswers } from './kept';
import { payloadBuilder } from './payload';
import { createSubscriberQueue } from './queue';

/** Close code for a subscriber that does not keep up (application-defined 4xxx range). */
export const SLOW_CONSUMER_CLOSE_CODE = 4429;
/** Bytes queued on a subscriber's socket beyond which it counts as too slow. */
const MAX_SOCKET_BUFFER = 8 * 1024 * 1024;
/**
 * Replayed events waiting for one subscriber at which its replay pauses, and down to which they drain
 * before it resumes: a replay goes at the subscriber's pace, however much it missed.
 */
const REPLAY_HIGH_WATER = 200;
/**
 * Events of one subscriber resolved ahead of their turn when it has a backlog (queue.ts): an
 * operator hearing every task update would otherwise wait one gateway round trip per event and fall
 * behind; in flight together, their entity lookups go out in one batch.
 */
const PREFETCH = 16;
const REPLAY_LOW_WATER = 50;

export interface SubscriberSocket {
  bufferedAmount: number;
  close(code: number, reason: string): void;
}

/** A position at least `floor` in every partition (`position` itself when it is already). */
const atLeast = (position: readonly number[], floor: readonly number[]) =>
  floor.every((f, p) => f <= (position[p] ?? 0))
    ? position
    : Array.from({ length: Math.max(position.length, floor.length) }, (_, p) =>
        Math.max(position[p] ?? 0, floor[p] ?? 0),
      );

/**
 * An event's cursor at its own position, signed once for all who hear it (an HMAC per subscriber
 * and event adds up with thousands of subscribers). Subscribers that resumed may be further on.
 */
const ownCursors = new WeakMap<FeedEvent, string>();

/**
 * One subscription fed from Kafka, as its `subscriptionFeeds` entry says: who may hear what is
 * decided once (access.ts), events are queued for the subscriber with its limits (queue.ts), and
 * each is turned into a result when the subscriber pulls it (payload.ts). This wires the three to
 * the feed: live events from now on, after the events missed since `after` when it is given.
 */
export function feedStream(
  deps: {
    feeds: KafkaFeeds;
    logger: Logger;
    /** Live events waiting for one subscriber before it is closed as too slow. */
    maxBuffered: number;
    /** Resolves payloads' entity fields, shared and batched across subscriptions (entities.ts). */
    entities: EntityResolver;
    /** The fields every caller sees alike (audience.ts). */
    publicFields: PublicFields;
    /** An anonymous caller's context: public entity fields are resolved as one, once for everybody. */
    publicContext: () => Promise<Context>;
    /** Whole results, shared by the subscribers of one audience and selection (payload.ts). */
    payloads: KeptAnswers<ExecutionResult>;
    /** Told once a subscription hears its feed: events published from then on reach it. */
    onListening?: (field: string) => void;
  },
  args: ExecutionArgs,
  field: FieldNode,
  socket: SubscriberSocket,
): AsyncIterableIterator<ExecutionResult> | ExecutionResult {
  const { feeds, logger, maxBuffered } = deps;
  const name = field.name.value;
  const feed = subscriptionFeeds[name];
  const definition = args.schema.getSubscriptionType()?.getFields()[name];
  if (!feed || !definition)
    return { errors: [new GraphQLError(`The subscription ${name} has no event feed`)] };
  const values = getArgumentValues(definition, field, args.variableValues ?? {});
  const context = args.contextValue as Context;
  // Who hears what: decided once here, applied to every event before its payload is built.
  const access = feedAccess(name, feed.access, context.caller);
  if ('error' in access) return { errors: [access.error] };
  const matches = eventFilter(feed, values, access.admits);
  // Offered only the events it could hear, not every event of the feed (listeners.ts).
  const route = eventRoute(feed, values, access);
  // Who may share this subscription's results, and each of its entities (audience.ts).
  const audience = payloadAudience(
    args.schema,
    feed,
    field,
    args.document,
    context.caller,
    deps.publicFields,
  );
  const ownAudience = callerAudience(context.caller);
  const payloadFor = payloadBuilder({
    feed,
    field,
    document: args.document,
    payloadType: definition.type.toString().replace(/!$/, ''),
    audience,
    isPublic: (f) => isPublicPayloadField(args.schema, feed, f, args.document, deps.publicFields),
    entity: async (eventId, lookup, isPublic) =>
      isPublic
        ? deps.entities.resolve(eventId, 'public', await deps.publicContext(), lookup)
        : deps.entities.resolve(eventId, ownAudience, context, lookup),
    shared: deps.payloads,
  });

  const topic = feed.event.topic;
  let detach: (() => Promise<void>) | undefined;
  let replay: Replay | undefined;
  // Where the replay ended (next offset per partition). Live events are delivered from there on,
  // and their cursors count the replayed range as delivered, though the live consumer that read
  // them may not have been that far in every partition yet.
  let replayEnd: readonly number[] = [];

  const queue = createSubscriberQueue<FeedEvent, ExecutionResult>({
    maxLive: maxBuffered,
    prefetch: PREFETCH,
    // A result everybody who hears the event shares costs the same however many wait for it: start
    // it at once, so that a subscriber hearing hundreds of events a second (an operator on every
    // task) has all it has not read yet in flight, in as few batches as they arrive in.
    eager: audience === 'public',
    replayHighWater: REPLAY_HIGH_WATER,
    replayLowWater: REPLAY_LOW_WATER,
    // Behind on the other side too: bytes the socket could not send yet.
    behind: () => socket.bufferedAmount > MAX_SOCKET_BUFFER,
    onTooSlow: (buffered) => {
      logger.warn({ subscription: name, buffered }, 'closing a subscriber that does not keep up');
      socket.close(
        SLOW_CONSUMER_CLOSE_CODE,
        `Subscriber too slow: more than ${maxBuffered} events waiting; resubscribe with after`,
      );
    },
    onPauseReplay: () => replay?.pause(),
    onResumeReplay: () => replay?.resume(),
    resolve: (event, replayed) =>
      payloadFor(event.envelope, () => {
        const position = replayed ? event.position : atLeast(event.position, replayEnd);
        if (position !== event.position) return feeds.cursor(topic, position);
        let cursor = ownCursors.get(event);
        if (cursor === undefined) ownCursors.set(event, (cursor = feeds.cursor(topic, position)));
        return cursor;
      }),
    onReturn: async () => {
      await replay?.stop(); // a replay in progress disconnects now, not once it reaches the end
      await started.catch(() => undefined);
      await detach?.();
    },
  });

  const started = (async () => {
    const after = typeof values.after === 'string' ? values.after : undefined;
    // Checked before anything starts: a cursor this gateway did not sign for this feed replays nothing.
    const from = after === undefined ? undefined : feeds.readCursor(topic, after);
    // Live events that come while replaying are held, to be delivered after it.
    if (from !== undefined) queue.hold();
    // Listen before replaying, so nothing falls between the replay's end and the live stream.
    detach = await feeds.listen(
      topic,
      (e) => {
        if (matches(e.envelope)) queue.pushLive(e);
      },
      route,
    );
    deps.onListening?.(name);
    if (from && !queue.closed) {
      replay = feeds.replay(topic, from, (e) => {
        if (matches(e.envelope)) queue.pushReplayed(e);
      });
      const end = await replay.end;
      queue.cover((e) => e.offset < (end[e.partition] ?? 0));
      replayEnd = await replay.done;
      queue.release();
    }
  })();
  started.catch((err: unknown) => {
    // The broker gone at the start is SERVICE_UNAVAILABLE (the client resubscribes later); anything
    // else not already a GraphQL error is a defect, logged.
    let error = err instanceof GraphQLError ? err : toPlatformError(err);
    if (!(err instanceof GraphQLError) && error.extensions.code === ErrorCode.INTERNAL_SERVER_ERROR) {
      logger.error({ err, subscription: name }, 'subscription failed to start');
      error = new GraphQLError('The subscription could not start', {
        extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
      });
    }
    queue.fail({ errors: [error] });
  });
  return queue;
}
