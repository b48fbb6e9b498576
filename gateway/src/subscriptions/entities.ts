import DataLoader from 'dataloader';
import type { ExecutionResult, GraphQLFormattedError } from 'graphql';
import { Lexer, Source, TokenKind } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { Context } from '../context';
import { keptAnswers } from './kept';

/*
 * The entity fields of subscription payloads (`agent { handle }` of an activity event), resolved for
 * many subscribers at once:
 * - shared: one resolution per event, entity, selection and audience (audience.ts), however many
 *   subscribers of that audience hear the event; the answers are kept briefly for the subscribers
 *   that pull the event later (a subscriber's queue runs at its own pace);
 * - batched: the lookups of one audience and selection that come within a few milliseconds (other
 *   events, other entities) go out as one gateway query with an aliased root field per entity, which
 *   the query planner turns into one request per subgraph instead of one per event.
 */

/** One entity field of a payload: the root query that finds it, and what the subscriber selected on it. */
export interface EntityLookup {
  /** Root query field taking `id` (agent, listing, serviceInstance, task...). */
  rootField: string;
  /**
   * Root query field taking `ids`, answering in their order (agentsByIds), when there is one: a batch
   * is then one field, and what other subgraphs add to its entities one request per subgraph. With
   * aliased `rootField`s instead, the query planner fetches those additions once per alias.
   */
  listField?: string;
  /** The subscriber's selection set on the entity, printed. */
  selection: string;
  /** The fragment definitions that selection uses, printed. */
  fragments: readonly string[];
  id: unknown;
}

/** An entity's value, and the errors of its resolution with paths relative to the entity field. */
export interface EntityAnswer {
  value: unknown;
  errors: readonly GraphQLFormattedError[];
}

export type RunQuery = (
  query: string,
  variables: Record<string, unknown>,
  context: Context,
) => Promise<ExecutionResult>;

export interface EntityResolverOptions {
  runQuery: RunQuery;
  /** Entities in one batched query at most. */
  maxBatch?: number;
  /**
   * Tokens a query may have (the gateway parses every document with this limit, its own too): a
   * batch whose query would be longer is split.
   */
  maxTokens?: number;
  /** How long a batch gathers lookups before it goes out. */
  windowMs?: number;
  /** How long an event's answers are kept for its slower subscribers. */
  keepMs?: number;
  /** Answers kept at most (the least recently used go first beyond it). */
  maxKept?: number;
}

/** Batches kept ready at most, one per audience and selection in use. */
const MAX_LOADERS = 10_000;

/**
 * What a lookup asks for, apart from which entity: its root field, selection and fragments (two
 * documents may name different fragments alike, so they are part of it).
 */
const shapeOf = (lookup: EntityLookup) =>
  [lookup.listField ?? lookup.rootField, lookup.selection, ...lookup.fragments].join('\n');

/** Ids one list field is asked for at most (identity's agentsByIds takes 100). */
const MAX_LIST_IDS = 100;

/** Tokens in a document, counted as graphql-js's parser counts them against its maxTokens. */
function tokenCount(text: string): number {
  const lexer = new Lexer(new Source(text));
  let count = 0;
  while (lexer.advance().kind !== TokenKind.EOF) count++;
  return count;
}

type Path = readonly (string | number)[];

/** Whether `path` starts with `prefix`. */
const isBelow = (path: Path, prefix: Path) => prefix.every((step, i) => path[i] === step);
/** Whether `path` reaches as deep as an entity of the batch (`where` is one entity's place). */
const belowAnEntity = (path: Path, where: Path) => path.length >= where.length;

/** The value at `where` in a query's data (an alias, or the list and an index). */
function valueAt(data: unknown, where: Path): unknown {
  let value = data;
  for (const step of where) {
    if (value === null || value === undefined) return undefined;
    value = (value as Record<string | number, unknown>)[step];
  }
  return value;
}

interface Key {
  id: unknown;
  context: Context;
}

export function createEntityResolver(options: EntityResolverOptions) {
  const maxBatch = options.maxBatch ?? 20;
  const maxTokens = options.maxTokens ?? Number.POSITIVE_INFINITY;
  const windowMs = options.windowMs ?? 2;
  let queries = 0;

  /**
   * One loader per audience, root field and selection: what can go out in one query together.
   * Selections and audiences come and go with subscribers: the least recently used are dropped.
   */
  const loaders = new LRUCache<string, DataLoader<Key, EntityAnswer, string>>({ max: MAX_LOADERS });
  const loaderFor = (audience: string, lookup: EntityLookup) => {
    const name = `${audience}\n${shapeOf(lookup)}`;
    let loader = loaders.get(name);
    if (!loader) {
      loader = new DataLoader<Key, EntityAnswer, string>((keys) => runBatch(lookup, keys), {
        // The shared answers below are the cache; the loader only batches.
        cache: false,
        maxBatchSize: lookup.listField ? MAX_LIST_IDS : maxBatch,
        batchScheduleFn: (callback) => setTimeout(callback, windowMs),
      });
      loaders.set(name, loader);
    }
    return loader;
  };

  /**
   * The query for `ids`: the list field once, or one aliased root field each. `at` says where an
   * id's answer is (its index in the list, or its alias), for the data and for the errors' paths.
   */
  function batchQuery(lookup: EntityLookup, ids: readonly string[]) {
    if (lookup.listField) {
      const query = [
        `query SubscriptionEntities($ids: [ID!]!) {`,
        `  list: ${lookup.listField}(ids: $ids) ${lookup.selection}`,
        '}',
        ...lookup.fragments,
      ].join('\n');
      const variables = { ids: ids.map((id) => JSON.parse(id) as unknown) };
      return { query, variables, at: new Map(ids.map((id, i) => [id, ['list', i] as const])) };
    }
    const query = [
      `query SubscriptionEntities(${ids.map((_, i) => `$i${i}: ID!`).join(', ')}) {`,
      ...ids.map((_, i) => `  e${i}: ${lookup.rootField}(id: $i${i}) ${lookup.selection}`),
      '}',
      ...lookup.fragments,
    ].join('\n');
    const variables = Object.fromEntries(ids.map((id, i) => [`i${i}`, JSON.parse(id) as unknown]));
    return { query, variables, at: new Map(ids.map((id, i) => [id, [`e${i}`] as const])) };
  }

  /** Answers by id (JSON), from as few queries as the token limit allows. */
  async function answersFor(
    lookup: EntityLookup,
    ids: readonly string[],
    context: Context,
  ): Promise<Map<string, EntityAnswer>> {
    const { query, variables, at } = batchQuery(lookup, ids);
    if (ids.length > 1 && tokenCount(query) > maxTokens) {
      const half = Math.ceil(ids.length / 2);
      const [a, b] = await Promise.all([
        answersFor(lookup, ids.slice(0, half), context),
        answersFor(lookup, ids.slice(half), context),
      ]);
      return new Map([...a, ...b]);
    }
    queries++;
    const result = await options.runQuery(query, variables, context);
    const errors = (result.errors ?? []) as readonly GraphQLFormattedError[];
    return new Map(
      ids.map((id) => {
        const where = at.get(id)!;
        const answer: EntityAnswer = {
          value: valueAt(result.data, where) ?? null,
          // An error of this entity, with its path from there on; one that is not below any entity
          // (no path, or the whole list failed) is everyone's.
          errors: errors
            .filter((e) => e.path === undefined || isBelow(e.path, where) || !belowAnEntity(e.path, where))
            .map((e) => ({
              ...e,
              ...(e.path ? { path: isBelow(e.path, where) ? e.path.slice(where.length) : [] } : {}),
            })),
        };
        return [id, answer];
      }),
    );
  }

  async function runBatch(lookup: EntityLookup, keys: readonly Key[]): Promise<EntityAnswer[]> {
    // The same entity twice in a batch (two events of one agent) is asked for once. Every key of a
    // batch is of one audience: any of their contexts answers for all.
    const ids = [...new Set(keys.map((k) => JSON.stringify(k.id)))];
    const answers = await answersFor(lookup, ids, keys[0]!.context);
    return keys.map((k) => answers.get(JSON.stringify(k.id))!);
  }

  /** Answers by event, audience and lookup, for the subscribers that pull the event later. */
  const kept = keptAnswers<EntityAnswer>({
    keepMs: options.keepMs ?? 30_000,
    max: options.maxKept ?? 50_000,
  });

  return {
    /**
     * The entity of `lookup` for `eventId` as `audience` sees it; `context` is one of that
     * audience's (the caller's own, or an anonymous one for the public audience).
     */
    resolve(
      eventId: string,
      audience: string,
      context: Context,
      lookup: EntityLookup,
    ): Promise<EntityAnswer> {
      const key = `${eventId}\n${audience}\n${shapeOf(lookup)}\n${JSON.stringify(lookup.id)}`;
      return kept.get(key, () => loaderFor(audience, lookup).load({ id: lookup.id, context }));
    },
    /** Gateway queries the resolver has run (for tests and metrics). */
    get queries() {
      return queries;
    },
  };
}

export type EntityResolver = ReturnType<typeof createEntityResolver>;
