import type { Server } from 'node:http';
import type { ApolloServer } from '@apollo/server';
import type {
  DocumentNode,
  ExecutionArgs,
  ExecutionResult,
  FieldNode,
  GraphQLFormattedError,
  GraphQLSchema,
  SelectionSetNode,
} from 'graphql';
import { getOperationAST, GraphQLError, Kind, OperationTypeNode, print } from 'graphql';
import { getArgumentValues } from 'graphql/execution/values';
import type { Context as WsContext } from 'graphql-ws';
import type { Extra } from 'graphql-ws/use/ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Logger } from '@waooaw/shared';
import { ErrorCode, subscriptionFeeds } from '@waooaw/shared';
import type { Context } from '../context';
import type { QueryLimits } from '../limits';
import { refuseOverLimits } from '../limits';
import { feedAccess } from './access';
import type { FeedEvent, KafkaFeeds, Replay } from './feed';

export interface SubscriptionDeps {
  httpServer: Server;
  apollo: ApolloServer<Context>;
  schema: () => GraphQLSchema | undefined;
  /**
   * Builds a request context from the connection_init authorization, the upgrade request's
   * forwarding headers and the socket's remote address (verifies the token).
   */
  contextFor: (req: {
    headers: Record<string, string | undefined>;
    remoteAddress?: string;
  }) => Promise<Context>;
  feeds: KafkaFeeds;
  logger: Logger;
  /** Events buffered for one subscriber before it is closed as too slow. */
  maxBuffered?: number;
  /** Largest message read from a client (bytes); a bigger one closes its socket with 1009. */
  maxPayloadBytes?: number;
  /** Operations one socket may run at once; one more is refused with TOO_MANY_SUBSCRIPTIONS. */
  maxSubscriptionsPerSocket?: number;
  /** Sockets one caller may hold open; one more is closed with TOO_MANY_CONNECTIONS_CLOSE_CODE. */
  maxConnectionsPerCaller?: number;
  /** The request limits, checked before graphql-ws parses and validates a subscribe message. */
  limits?: QueryLimits & { maxTokens: number };
}

/** Close code for a subscriber that does not keep up (application-defined 4xxx range). */
export const SLOW_CONSUMER_CLOSE_CODE = 4429;
/** Close code for a caller that already holds as many sockets as it may. */
export const TOO_MANY_CONNECTIONS_CLOSE_CODE = 4430;
/** Close code for a socket whose client token expired (graphql-ws's Forbidden, as for a bad token). */
export const TOKEN_EXPIRED_CLOSE_CODE = 4403;
/** Bytes queued on a subscriber's socket beyond which it counts as too slow. */
const MAX_SOCKET_BUFFER = 8 * 1024 * 1024;
/**
 * Replayed events waiting for one subscriber at which its replay pauses, and down to which they drain
 * before it resumes: a replay goes at the subscriber's pace, however much it missed.
 */
const REPLAY_HIGH_WATER = 200;
const REPLAY_LOW_WATER = 50;

/** A position at least `floor` in every partition. */
const atLeast = (position: readonly number[], floor: readonly number[]) =>
  floor.length === 0
    ? position
    : Array.from({ length: Math.max(position.length, floor.length) }, (_, p) =>
        Math.max(position[p] ?? 0, floor[p] ?? 0),
      );
/** setTimeout's longest delay (about 24.8 days); a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Closes `socket` when the client's token expires. Returns the cancel (for a socket that closes first).
 */
function closeAtExpiry(socket: SubscriberSocket, expiresAt: number): () => void {
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    const left = expiresAt - Date.now();
    if (left <= 0) socket.close(TOKEN_EXPIRED_CLOSE_CODE, 'Your token expired; reconnect with a fresh one');
    else timer = setTimeout(check, Math.min(left, MAX_TIMER_MS));
  };
  check();
  return () => clearTimeout(timer);
}

/**
 * Apollo's results carry formatted errors (plain objects, as sent over HTTP); graphql-ws serialises
 * errors with their toJSON, so it gets GraphQLErrors that serialise to exactly those objects.
 */
class FormattedError extends GraphQLError {
  constructor(private readonly formatted: GraphQLFormattedError) {
    super(formatted.message, {
      ...(formatted.path ? { path: formatted.path } : {}),
      ...(formatted.extensions ? { extensions: formatted.extensions } : {}),
    });
  }

  override toJSON(): GraphQLFormattedError {
    return this.formatted;
  }
}

interface SubscriberSocket {
  bufferedAmount: number;
  close(code: number, reason: string): void;
}

/** The fields a selection asks for, fragments flattened. */
function collectFields(set: SelectionSetNode, document: DocumentNode): FieldNode[] {
  return set.selections.flatMap((s) => {
    if (s.kind === Kind.FIELD) return [s];
    if (s.kind === Kind.INLINE_FRAGMENT) return collectFields(s.selectionSet, document);
    const fragment = document.definitions.find(
      (d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === s.name.value,
    );
    return fragment && fragment.kind === Kind.FRAGMENT_DEFINITION
      ? collectFields(fragment.selectionSet, document)
      : [];
  });
}

/** The fragment definitions a selection uses, transitively (an entity query must not carry unused ones). */
function fragmentsOf(set: SelectionSetNode, document: DocumentNode, seen = new Set<string>()): string[] {
  const out: string[] = [];
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD && s.selectionSet) out.push(...fragmentsOf(s.selectionSet, document, seen));
    else if (s.kind === Kind.INLINE_FRAGMENT) out.push(...fragmentsOf(s.selectionSet, document, seen));
    else if (s.kind === Kind.FRAGMENT_SPREAD && !seen.has(s.name.value)) {
      seen.add(s.name.value);
      const fragment = document.definitions.find(
        (d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === s.name.value,
      );
      if (fragment && fragment.kind === Kind.FRAGMENT_DEFINITION)
        out.push(print(fragment), ...fragmentsOf(fragment.selectionSet, document, seen));
    }
  }
  return out;
}

/**
 * graphql-ws on the gateway's /graphql. @apollo/gateway cannot execute subscriptions, so each
 * Subscription field is fed from Kafka as its `subscriptionFeeds` entry says: events filtered by
 * the field's arguments, payload fields taken from the event, entity fields resolved by the
 * gateway's own query planning with the subscriber's context (so they may come from any subgraph).
 */
export function attachSubscriptions(deps: SubscriptionDeps) {
  const { apollo, feeds, logger } = deps;
  const maxBuffered = deps.maxBuffered ?? 1000;
  const maxSubscriptions = deps.maxSubscriptionsPerSocket ?? 50;
  const maxConnections = deps.maxConnectionsPerCaller ?? 20;
  const wss = new WebSocketServer({
    server: deps.httpServer,
    path: '/graphql',
    maxPayload: deps.maxPayloadBytes ?? 1024 * 1024,
  });
  /** Per socket: its verified context, and what to undo when it closes. */
  const sockets = new WeakMap<object, { context: Context; release: () => void }>();
  /** Open sockets per caller key. */
  const connections = new Map<string, number>();
  const callerKey = (context: Context) => (context.caller ? `sub:${context.caller.sub}` : `ip:${context.ip}`);

  const runQuery = async (
    query: string,
    variables: Record<string, unknown>,
    contextValue: Context,
    operationName?: string,
  ): Promise<ExecutionResult> => {
    const response = await apollo.executeOperation(
      { query, variables, ...(operationName ? { operationName } : {}) },
      { contextValue },
    );
    if (response.body.kind !== 'single')
      return { errors: [new GraphQLError('Incremental delivery is not supported over WebSocket')] };
    const { errors, ...result } = response.body.singleResult;
    return { ...result, ...(errors ? { errors: errors.map((e) => new FormattedError(e)) } : {}) };
  };

  function stream(
    args: ExecutionArgs,
    field: FieldNode,
    socket: SubscriberSocket,
  ): AsyncIterableIterator<ExecutionResult> | ExecutionResult {
    const schema = args.schema;
    const name = field.name.value;
    const feed = subscriptionFeeds[name];
    const definition = schema.getSubscriptionType()?.getFields()[name];
    if (!feed || !definition)
      return { errors: [new GraphQLError(`The subscription ${name} has no event feed`)] };
    const values = getArgumentValues(definition, field, args.variableValues ?? {});
    const context = args.contextValue as Context;
    // Who hears what: decided once here, applied to every event before its payload is built.
    const access = feedAccess(name, feed.access, context.caller);
    if ('error' in access) return { errors: [access.error] };
    const payloadType = definition.type.toString().replace(/!$/, '');
    const rootKey = field.alias?.value ?? name;
    const selected = field.selectionSet ? collectFields(field.selectionSet, args.document) : [];

    // A filter names an argument, or a field of an input argument (`filter.category`).
    const argument = (path: string): unknown =>
      path
        .split('.')
        .reduce<unknown>(
          (value, key) =>
            typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined,
          values,
        );
    const matches = (e: FeedEvent) =>
      e.envelope.type === feed.event.type &&
      access.admits(e.envelope.data) &&
      Object.entries(feed.filters).every(([arg, dataField]) => {
        const wanted = argument(arg);
        return wanted === undefined || wanted === null || e.envelope.data[dataField] === wanted;
      });

    const payloadFor = async (e: FeedEvent, cursor: () => string): Promise<ExecutionResult> => {
      const data = e.envelope.data;
      const payload: Record<string, unknown> = {};
      const errors: GraphQLError[] = [];
      for (const f of selected) {
        const key = f.alias?.value ?? f.name.value;
        const entity = feed.entities[f.name.value];
        if (f.name.value === '__typename') payload[key] = payloadType;
        else if (f.name.value === 'cursor') payload[key] = cursor();
        else if (
          entity &&
          f.selectionSet &&
          (data[entity.idFrom] === null || data[entity.idFrom] === undefined)
        )
          payload[key] = null; // e.g. an instance whose agent discovery does not know yet
        else if (entity && f.selectionSet) {
          const query = [
            `query SubscriptionEntity($id: ID!) { value: ${entity.rootField}(id: $id) ${print(f.selectionSet)} }`,
            ...fragmentsOf(f.selectionSet, args.document),
          ].join('\n');
          const result = await runQuery(query, { id: data[entity.idFrom] }, context);
          payload[key] = (result.data as { value?: unknown } | null | undefined)?.value ?? null;
          for (const err of result.errors ?? [])
            errors.push(new GraphQLError(err.message, { path: [rootKey, key], extensions: err.extensions }));
        } else payload[key] = data[f.name.value] ?? null;
      }
      return { data: { [rootKey]: payload }, ...(errors.length ? { errors } : {}) };
    };

    const topic = feed.event.topic;
    // Replayed events (`replayed`) do not count as falling behind: the replay waits for the subscriber.
    const queue: { event: FeedEvent; replayed: boolean }[] = [];
    let liveWaiting = 0;
    let wake: (() => void) | undefined;
    let closed = false;
    let detach: (() => Promise<void>) | undefined;
    let replay: Replay | undefined;
    // Where the replay ended (next offset per partition). Live events are delivered from there on,
    // and their cursors count the replayed range as delivered, though the live consumer that read
    // them may not have been that far in every partition yet.
    let replayEnd: readonly number[] = [];
    const cursorOf = (entry: { event: FeedEvent; replayed: boolean }) =>
      feeds.cursor(topic, entry.replayed ? entry.event.position : atLeast(entry.event.position, replayEnd));

    const closeAsTooSlow = (buffered: number) => {
      closed = true;
      logger.warn({ subscription: name, buffered }, 'closing a subscriber that does not keep up');
      socket.close(
        SLOW_CONSUMER_CLOSE_CODE,
        `Subscriber too slow: more than ${maxBuffered} events waiting; resubscribe with after`,
      );
    };
    const push = (e: FeedEvent) => {
      if (closed || !matches(e)) return;
      queue.push({ event: e, replayed: false });
      liveWaiting++;
      // Behind on either side: events not yet resolved here, or bytes the socket could not send yet.
      if (liveWaiting > maxBuffered || socket.bufferedAmount > MAX_SOCKET_BUFFER) closeAsTooSlow(liveWaiting);
      wake?.();
    };
    const pushReplayed = (e: FeedEvent) => {
      if (closed || !matches(e)) return;
      queue.push({ event: e, replayed: true });
      if (queue.length - liveWaiting >= REPLAY_HIGH_WATER) replay?.pause();
      wake?.();
    };

    const started = (async () => {
      const after = typeof values.after === 'string' ? values.after : undefined;
      // Checked before anything starts: a cursor this gateway did not sign for this feed replays nothing.
      const from = after === undefined ? undefined : feeds.readCursor(topic, after);
      // Live events that come while replaying, held to be delivered after it (matching ones count
      // towards the subscriber's limit: they are live events it has not had).
      const held: FeedEvent[] = [];
      let heldMatching = 0;
      const hold = (e: FeedEvent) => {
        if (closed) return;
        held.push(e);
        if (matches(e) && ++heldMatching > maxBuffered) closeAsTooSlow(heldMatching);
      };
      let replaying = from !== undefined;
      // Listen before replaying, so nothing falls between the replay's end and the live stream.
      detach = await feeds.listen(topic, (e) => (replaying ? hold(e) : push(e)));
      if (from && !closed) {
        replay = feeds.replay(topic, from, pushReplayed);
        replayEnd = await replay.done;
        // In the same turn as the end is known, so no live event can come in between.
        for (const e of held) if (e.offset >= (replayEnd[e.partition] ?? 0)) push(e);
      }
      held.length = 0;
      replaying = false;
    })();
    let startError: unknown;
    started.catch((err: unknown) => {
      closed = true; // nothing more is held or queued: the error ends the subscription
      if (!(err instanceof GraphQLError))
        logger.error({ err, subscription: name }, 'subscription failed to start');
      startError = err;
      wake?.();
    });

    const iterator: AsyncIterableIterator<ExecutionResult> = {
      [Symbol.asyncIterator]() {
        return this;
      },
      async next() {
        for (;;) {
          if (startError) {
            closed = true;
            const error =
              startError instanceof GraphQLError
                ? startError
                : new GraphQLError('The subscription could not start', {
                    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
                  });
            startError = undefined;
            return { done: false, value: { errors: [error] } };
          }
          const next = queue.shift();
          if (next) {
            if (!next.replayed) liveWaiting--;
            else if (queue.length - liveWaiting <= REPLAY_LOW_WATER) replay?.resume();
            return { done: false, value: await payloadFor(next.event, () => cursorOf(next)) };
          }
          if (closed) return { done: true, value: undefined };
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      },
      async return() {
        closed = true;
        queue.length = 0; // nothing more is sent, so nothing more is resolved
        wake?.();
        await replay?.stop(); // a replay in progress disconnects now, not once it reaches the end
        await started.catch(() => undefined);
        await detach?.();
        return { done: true, value: undefined };
      },
    };
    return iterator;
  }

  type Ctx = WsContext<Record<string, unknown>, Extra>;
  const server = useServer<Record<string, unknown>>(
    {
      schema: () => {
        const schema = deps.schema();
        if (!schema) throw new Error('the gateway has not loaded its schema yet');
        return schema;
      },
      onConnect: async (ctx: Ctx) => {
        const params = ctx.connectionParams ?? {};
        const authorization = params.authorization ?? params.Authorization;
        const { socket, request } = ctx.extra;
        const forwardedFor = request.headers['x-forwarded-for'];
        let context: Context;
        try {
          context = await deps.contextFor({
            headers: {
              authorization: typeof authorization === 'string' ? authorization : undefined,
              'x-forwarded-for': Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor,
            },
            ...(request.socket.remoteAddress ? { remoteAddress: request.socket.remoteAddress } : {}),
          });
        } catch {
          return false; // graphql-ws closes with 4403 Forbidden
        }
        // Closed while its token was checked: onClose has run already, so count nothing for it.
        if (socket.readyState !== socket.OPEN) return false;
        const key = callerKey(context);
        const open = connections.get(key) ?? 0;
        if (open >= maxConnections) {
          // The first close wins: graphql-ws's own 4403 after `false` does not replace this one.
          socket.close(
            TOO_MANY_CONNECTIONS_CLOSE_CODE,
            `Too many connections: at most ${maxConnections} open sockets per caller; close one first`,
          );
          return false;
        }
        connections.set(key, open + 1);
        const cancelExpiry = context.expiresAt ? closeAtExpiry(socket, context.expiresAt) : () => undefined;
        sockets.set(ctx, {
          context,
          release: () => {
            cancelExpiry();
            const left = (connections.get(key) ?? 1) - 1;
            if (left > 0) connections.set(key, left);
            else connections.delete(key);
          },
        });
        return true;
      },
      onClose: (ctx: Ctx) => {
        sockets.get(ctx)?.release();
        sockets.delete(ctx);
      },
      onSubscribe: (ctx: Ctx, _id, payload) => {
        const context = sockets.get(ctx)?.context;
        // The expiry timer closes the socket; this covers an operation that arrives just before it fires.
        if (context?.expiresAt !== undefined && context.expiresAt <= Date.now()) {
          ctx.extra.socket.close(TOKEN_EXPIRED_CLOSE_CODE, 'Your token expired; reconnect with a fresh one');
          return [
            new GraphQLError('Your token expired', { extensions: { code: ErrorCode.UNAUTHENTICATED } }),
          ];
        }
        // graphql-ws has already registered this operation, so it counts itself.
        if (Object.keys(ctx.subscriptions).length > maxSubscriptions)
          return [
            new GraphQLError(
              `Too many operations on this socket: at most ${maxSubscriptions} at once; complete one first`,
              { extensions: { code: ErrorCode.TOO_MANY_SUBSCRIPTIONS, limit: maxSubscriptions } },
            ),
          ];
        // graphql-ws parses and validates with no limits of its own: refuse over-limit documents first.
        const schema = deps.schema();
        if (schema && deps.limits) return refuseOverLimits(schema, payload, deps.limits);
        return undefined; // graphql-ws parses and validates the operation as usual
      },
      // The subscriber's verified context, plus its socket (to close it when it falls behind).
      context: (ctx: Ctx) => {
        const context = sockets.get(ctx)?.context;
        return context ? { ...context, socket: ctx.extra.socket } : undefined;
      },
      execute: (args) => {
        const operation = getOperationAST(args.document, args.operationName);
        return runQuery(
          print(args.document),
          args.variableValues ?? {},
          args.contextValue as Context,
          operation?.name?.value,
        );
      },
      subscribe: (args) => {
        const operation = getOperationAST(args.document, args.operationName);
        const field = operation?.selectionSet.selections[0];
        if (operation?.operation !== OperationTypeNode.SUBSCRIPTION || field?.kind !== Kind.FIELD) {
          return { errors: [new GraphQLError('Send one subscription field per operation')] };
        }
        const socket = (args.contextValue as Context & { socket?: SubscriberSocket }).socket;
        return stream(args, field, socket ?? { bufferedAmount: 0, close: () => undefined });
      },
    },
    wss,
  );

  return {
    async close() {
      await server.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
