import { randomBytes } from 'node:crypto';
import DataLoader from 'dataloader';
import type { mongo } from 'mongoose';

/**
 * DataLoader settings of both batchers: every write is sent (no cache), at most `maxBatch` per
 * request, and the batch leaves at the end of the loop turn (setImmediate) rather than after the
 * current promise jobs, so callers resumed by a finished request join the next one.
 */
const oneLoopTurn = (maxBatch = 1000) => ({
  cache: false as const,
  maxBatchSize: maxBatch,
  batchScheduleFn: (callback: () => void) => setImmediate(callback),
});

/** A document insert that may be sent together with others issued at about the same moment. */
export interface InsertBatcher<T> {
  /**
   * Resolves once `doc` is stored, or rejects with its own error: a duplicate key (code 11000, as
   * insertOne's) for this document alone, or the whole request's failure (MongoDB unreachable).
   */
  insert(doc: T): Promise<void>;
}

/**
 * What a per-document write error looks like in the driver's bulk error (MongoBulkWriteError's
 * `writeErrors`): the index of the document in the request, its code and message.
 */
interface WriteErrorLike {
  index: number;
  code: number;
  errmsg?: string;
}

/**
 * The error one document of a failed bulk request gets: code and message as its single write would
 * give (isDuplicateKey sees the code), and the bulk error as its cause, so what classifies failures
 * (faults.ts: transient or not) sees what the driver said.
 */
export class DocumentWriteError extends Error {
  constructor(
    message: string,
    readonly code: number,
    cause: unknown,
  ) {
    super(message, { cause });
    this.name = 'DocumentWriteError';
  }
}

/** Documents a failed insertMany reports stored (MongoBulkWriteError's insertedCount), if it says. */
const insertedCountOf = (err: unknown): number | undefined => {
  const e = err as { insertedCount?: unknown; result?: { insertedCount?: unknown } };
  const count = e.insertedCount ?? e.result?.insertedCount;
  return typeof count === 'number' ? count : undefined;
};

/** The per-document errors of a failed bulk request; null when it names none (the request itself failed). */
const writeErrorsOf = (err: unknown): WriteErrorLike[] | null => {
  const list = (err as { writeErrors?: unknown }).writeErrors;
  // A single failed document: the driver may give the one error rather than a list.
  const errors: unknown[] = Array.isArray(list)
    ? list
    : list && typeof list === 'object' && 'index' in list
      ? [list]
      : [];
  return errors.length > 0 ? (errors as WriteErrorLike[]) : null;
};

/**
 * Group commit for inserts: the inserts issued while the event loop handles one round of I/O (the
 * handlers of one fetched Kafka batch, the callers a previous insert just released) go to MongoDB as
 * one `insertMany`, unordered, and each caller hears of its own document only. Nothing waits to fill a
 * batch: a lone insert leaves at the end of the loop turn it was issued in, so at low load this costs
 * what insertOne does, and under load one request carries many documents (one MongoDB command per
 * batch instead of one per task; issue 20).
 *
 * Built on DataLoader, which does exactly this for reads: collect the keys of one tick, call the batch
 * function once, hand each caller its value or its Error. Caching is off (every insert is sent), and
 * the batch is scheduled with setImmediate rather than after the current promise jobs, so the callers
 * that a finished request resumes (continuing on different await chains) land in the same batch.
 */
export function createInsertBatcher<T extends mongo.Document>(
  collection: Pick<mongo.Collection<T>, 'insertMany'>,
  options: { maxBatch?: number } = {},
): InsertBatcher<T> {
  const loader = new DataLoader<T, void, T>(async (docs) => {
    try {
      await collection.insertMany(docs as mongo.OptionalUnlessRequiredId<T>[], { ordered: false });
      return docs.map(() => undefined);
    } catch (err) {
      const writeErrors = writeErrorsOf(err);
      const everyone = () => docs.map(() => (err instanceof Error ? err : new Error(String(err))));
      // Not about particular documents (the server is gone, the request was refused), or the answer
      // does not account for every document (a server dying mid-request reports the documents it
      // failed, not those it never reached): every caller gets the error, as each would have from its
      // own insertOne. Some documents may be stored anyway; a caller retrying meets its document as
      // a duplicate key, as after a lost insertOne answer.
      // (mongo-java-server counts the documents it tried, failed ones included; mongod those stored.)
      if (!writeErrors || !((insertedCountOf(err) ?? -1) >= docs.length - writeErrors.length))
        return everyone();
      const byIndex = new Map(writeErrors.map((e) => [e.index, e]));
      return docs.map((_, i) => {
        const failed = byIndex.get(i);
        return failed
          ? new DocumentWriteError(
              failed.errmsg ?? `insert failed with code ${failed.code}`,
              failed.code,
              err,
            )
          : undefined;
      });
    }
  }, oneLoopTurn(options.maxBatch));
  return { insert: (doc) => loader.load(doc) };
}

/**
 * The field of a document that remembers the tokens of its last few batched writes (see
 * createUpdateBatcher). Kept short: it is written with every revision-guarded update.
 */
export const RECENT_WRITES_FIELD = 'recentWrites';
/**
 * Tokens a document remembers. A caller's token is looked for one round trip after its write: to
 * be missed, the document would have to be written this many times more within that round trip,
 * while each writer must first have read the revision the previous one wrote.
 */
export const RECENT_WRITES_KEPT = 16;

/** Conditional single-document updates, sent together (see createUpdateBatcher). */
export interface UpdateBatcher<T> {
  /** Resolves whether the update matched its document (and so was applied), or rejects with its own error. */
  updateOne(filter: mongo.Filter<T>, update: mongo.UpdateFilter<T>): Promise<boolean>;
}

/** A token no other write of any process carries: a random process prefix and a counter. */
const tokenPrefix = randomBytes(4).toString('hex');
let tokenCounter = 0;
const nextToken = () => `${tokenPrefix}${(tokenCounter++).toString(36)}`;

interface PendingUpdate<T> {
  filter: mongo.Filter<T>;
  update: mongo.UpdateFilter<T>;
}

/**
 * Group commit for conditional updates (the revision-guarded writes: `{ _id, rev }` filters): the
 * updates issued in one event-loop turn go as one unordered bulkWrite, and each caller learns
 * whether its own update matched, as updateOne's matchedCount would have told it.
 *
 * A bulk write reports how many updates matched, not which. So each update also records a token of
 * its own in the document (RECENT_WRITES_FIELD, the last RECENT_WRITES_KEPT). When all matched or
 * none did, that answers every caller; only when some matched (writers raced, the rare case) are
 * the documents read back, and a caller matched exactly if its token is in its document. Updates
 * that cannot apply at all (a per-document write error) get their own error.
 */
export function createUpdateBatcher<T extends mongo.Document>(
  collection: Pick<mongo.Collection<T>, 'bulkWrite' | 'find'>,
  options: { maxBatch?: number } = {},
): UpdateBatcher<T> {
  const loader = new DataLoader<PendingUpdate<T>, boolean, PendingUpdate<T>>(async (pending) => {
    const tokens = pending.map(() => nextToken());
    const operations = pending.map(({ filter, update }, i) => {
      // The token goes beside whatever the update pushes; the collection's type knows no such field.
      const $push = {
        ...update.$push,
        [RECENT_WRITES_FIELD]: { $each: [tokens[i]!], $slice: -RECENT_WRITES_KEPT },
      } as unknown as mongo.PushOperator<T>;
      return { updateOne: { filter, update: { ...update, $push } } };
    });
    let matched: number;
    let failed = new Map<number, WriteErrorLike>();
    let bulkError: unknown;
    try {
      matched = (await collection.bulkWrite(operations, { ordered: false })).matchedCount;
    } catch (err) {
      const writeErrors = writeErrorsOf(err);
      if (!writeErrors) return pending.map(() => (err instanceof Error ? err : new Error(String(err))));
      bulkError = err;
      failed = new Map(writeErrors.map((e) => [e.index, e]));
      // Unknown which of the others matched (or were reached at all): what is stored says (below).
      matched = -1;
    }
    const errorOf = (i: number) => {
      const e = failed.get(i)!;
      return new DocumentWriteError(e.errmsg ?? `update failed with code ${e.code}`, e.code, bulkError);
    };
    if (matched === pending.length) return pending.map(() => true);
    if (matched === 0) return pending.map(() => false);
    const ids = [...new Set(pending.map((p) => (p.filter as { _id?: unknown })._id))];
    if (ids.some((id) => id === undefined))
      throw new Error('a batched conditional update must name its document by _id');
    const written = new Map<unknown, readonly string[]>();
    for (const doc of await collection
      .find({ _id: { $in: ids } } as mongo.Filter<T>, {
        projection: { [RECENT_WRITES_FIELD]: 1 },
      })
      .toArray())
      written.set(doc._id, ((doc as Record<string, unknown>)[RECENT_WRITES_FIELD] as string[]) ?? []);
    return pending.map((p, i) =>
      failed.has(i)
        ? errorOf(i)
        : (written.get((p.filter as { _id: unknown })._id)?.includes(tokens[i]!) ?? false),
    );
  }, oneLoopTurn(options.maxBatch));
  return { updateOne: (filter, update) => loader.load({ filter, update }) };
}
