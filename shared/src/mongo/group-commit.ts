import DataLoader from 'dataloader';
import type { mongo } from 'mongoose';

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

/** The error one document of a failed insertMany gets: code and message as insertOne would give. */
export class DocumentWriteError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
    this.name = 'DocumentWriteError';
  }
}

const writeErrorsOf = (err: unknown): WriteErrorLike[] | null => {
  const list = (err as { writeErrors?: unknown }).writeErrors;
  if (Array.isArray(list)) return list as WriteErrorLike[];
  // A single failed document: the driver may give the one error rather than a list.
  if (list && typeof list === 'object' && 'index' in list) return [list as WriteErrorLike];
  return null;
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
  const loader = new DataLoader<T, void, T>(
    async (docs) => {
      try {
        await collection.insertMany(docs as mongo.OptionalUnlessRequiredId<T>[], { ordered: false });
        return docs.map(() => undefined);
      } catch (err) {
        const writeErrors = writeErrorsOf(err);
        // Not about particular documents (the server is gone, the request was refused): every caller
        // gets it, as each would have from its own insertOne. Some documents may be stored anyway;
        // a caller retrying meets its document as a duplicate key, as after a lost insertOne answer.
        if (!writeErrors) return docs.map(() => (err instanceof Error ? err : new Error(String(err))));
        const byIndex = new Map(writeErrors.map((e) => [e.index, e]));
        return docs.map((_, i) => {
          const failed = byIndex.get(i);
          return failed
            ? new DocumentWriteError(failed.errmsg ?? `insert failed with code ${failed.code}`, failed.code)
            : undefined;
        });
      }
    },
    {
      cache: false,
      maxBatchSize: options.maxBatch ?? 1000,
      batchScheduleFn: (callback) => setImmediate(callback),
    },
  );
  return { insert: (doc) => loader.load(doc) };
}
