import type { Server } from 'node:http';
import type { ApolloServer } from '@apollo/server';
import type {
  DocumentNode,
  ExecutionArgs,
  ExecutionResult,
  FieldNode,
  GraphQLSchema,
  SelectionSetNode,
} from 'graphql';
import { getOperationAST, GraphQLError, Kind, OperationTypeNode, print } from 'graphql';
import { getArgumentValues } from 'graphql/execution/values';
import type { Context as WsContext } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Logger } from '@waooaw/shared';
import { ErrorCode, subscriptionFeeds } from '@waooaw/shared';
import type { Context } from '../context';
import type { QueryLimits } from '../limits';
import { refuseOverLimits } from '../limits';
import type { FeedEvent, KafkaFeeds } from './feed';

export interface SubscriptionDeps {
  httpServer: Server;
  apollo: ApolloServer<Context>;
  schema: () => GraphQLSchema | undefined;
  /** Builds a request context from connection_init headers (verifies the token). */
  contextFor: (headers: Record<string, string | undefined>) => Promise<Context>;
  feeds: KafkaFeeds;
  logger: Logger;
  /** Events buffered for one subscriber before it is closed as too slow. */
  maxBuffered?: number;
  /** The request limits, checked before graphql-ws parses and validates a subscribe message. */
  limits?: QueryLimits & { maxTokens: number };
}

/** Close code for a subscriber that does not keep up (application-defined 4xxx range). */
export const SLOW_CONSUMER_CLOSE_CODE = 4429;
/** Bytes queued on a subscriber's socket beyond which it counts as too slow. */
const MAX_SOCKET_BUFFER = 8 * 1024 * 1024;

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
  const wss = new WebSocketServer({ server: deps.httpServer, path: '/graphql' });
  const contexts = new WeakMap<object, Context>();

  const runQuery = async (
    query: string,
    variables: Record<string, unknown>,
    contextValue: Context,
    operationName?: string,
  ) => {
    const response = await apollo.executeOperation(
      { query, variables, ...(operationName ? { operationName } : {}) },
      { contextValue },
    );
    return response.body.kind === 'single'
      ? (response.body.singleResult as ExecutionResult)
      : { errors: [new GraphQLError('Incremental delivery is not supported over WebSocket')] };
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
    const caller = context.caller;
    const allowedRoles = feed.access?.roles;
    if (allowedRoles && !caller?.roles.some((r) => allowedRoles.includes(r)))
      return {
        errors: [
          new GraphQLError(`${name} is for ${allowedRoles.join(', ')}; sign in with one of those roles`, {
            extensions: { code: caller ? 'FORBIDDEN' : 'UNAUTHENTICATED' },
          }),
        ],
      };
    // A plain customer hears only about what is theirs (anonymous callers about nothing owned).
    const ownerField = feed.access?.ownerField;
    const onlyOwn = ownerField !== undefined && (!caller || caller.roles.every((r) => r === 'customer'));
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
      (!onlyOwn || (caller !== null && e.envelope.data[ownerField] === caller.sub)) &&
      Object.entries(feed.filters).every(([arg, dataField]) => {
        const wanted = argument(arg);
        return wanted === undefined || wanted === null || e.envelope.data[dataField] === wanted;
      });

    const payloadFor = async (e: FeedEvent): Promise<ExecutionResult> => {
      const data = e.envelope.data;
      const payload: Record<string, unknown> = {};
      const errors: GraphQLError[] = [];
      for (const f of selected) {
        const key = f.alias?.value ?? f.name.value;
        const entity = feed.entities[f.name.value];
        if (f.name.value === '__typename') payload[key] = payloadType;
        else if (f.name.value === 'cursor') payload[key] = e.cursor;
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

    const queue: FeedEvent[] = [];
    let wake: (() => void) | undefined;
    let closed = false;
    let detach: (() => Promise<void>) | undefined;
    const push = (e: FeedEvent) => {
      if (closed || !matches(e)) return;
      queue.push(e);
      // Behind on either side: events not yet resolved here, or bytes the socket could not send yet.
      if (queue.length > maxBuffered || socket.bufferedAmount > MAX_SOCKET_BUFFER) {
        closed = true;
        logger.warn(
          { subscription: name, buffered: queue.length },
          'closing a subscriber that does not keep up',
        );
        socket.close(
          SLOW_CONSUMER_CLOSE_CODE,
          `Subscriber too slow: more than ${maxBuffered} events waiting; resubscribe with after`,
        );
      }
      wake?.();
    };

    const started = (async () => {
      const after = typeof values.after === 'string' ? values.after : undefined;
      const early: FeedEvent[] = [];
      let replaying = Boolean(after);
      // Listen before replaying, so nothing falls between the replay's end and the live stream.
      detach = await feeds.listen(feed.event.topic, (e) => (replaying ? early.push(e) : push(e)));
      if (after) {
        const ends = await feeds.replay(feed.event.topic, after, push);
        for (const e of early) if (e.offset >= (ends.get(e.partition) ?? 0)) push(e);
        replaying = false;
      }
    })();
    let startError: unknown;
    started.catch((err: unknown) => {
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
          if (next) return { done: false, value: await payloadFor(next) };
          if (closed) return { done: true, value: undefined };
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      },
      async return() {
        closed = true;
        wake?.();
        await started.catch(() => undefined);
        await detach?.();
        return { done: true, value: undefined };
      },
    };
    return iterator;
  }

  const server = useServer<Record<string, unknown>>(
    {
      schema: () => {
        const schema = deps.schema();
        if (!schema) throw new Error('the gateway has not loaded its schema yet');
        return schema;
      },
      onConnect: async (ctx: WsContext<Record<string, unknown>, { socket: unknown }>) => {
        const params = ctx.connectionParams ?? {};
        const authorization = params.authorization ?? params.Authorization;
        try {
          contexts.set(
            ctx,
            await deps.contextFor({
              authorization: typeof authorization === 'string' ? authorization : undefined,
            }),
          );
          return true;
        } catch {
          return false; // graphql-ws closes with 4403 Forbidden
        }
      },
      // graphql-ws parses and validates with no limits of its own: refuse over-limit documents first.
      onSubscribe: (_ctx, _id, payload) => {
        const schema = deps.schema();
        if (schema && deps.limits) return refuseOverLimits(schema, payload, deps.limits);
      },
      // The subscriber's verified context, plus its socket (to close it when it falls behind).
      context: (ctx) => {
        const context = contexts.get(ctx);
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
