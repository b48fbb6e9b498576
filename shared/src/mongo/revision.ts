import type { Model, mongo } from 'mongoose';
import { ErrorCode, PlatformError } from '../errors';
import type { UpdateBatcher } from './group-commit';
import { createUpdateBatcher } from './group-commit';
import { APPLIED_EVENTS_KEPT } from './idempotency';

/**
 * The field that holds a document's revision. New collections use `rev` (as instances, tasks,
 * workflows and sagas do). Support's tickets were stored with `revision` from their first version
 * and keep it: every ticket already stored carries that name, so a rename would need a migration
 * of the stored tickets (or a guard that reads both names), for no gain.
 */
export type RevisionField = 'rev' | 'revision';

/** How often a change is decided and written again when other writers keep changing the document. */
export const REVISION_ATTEMPTS = 8;

/** A document written only through revision-guarded updates (see updateWithRevision). */
export interface RevisionedDocument {
  _id: string;
  /** The events already applied to it, when it is changed by events (see APPLIED_EVENTS_KEPT). */
  appliedEventIds?: readonly string[];
}

/** What `decide` wants written: the update (the revision and the event id are added to it) and what to answer. */
export interface RevisionChange<T, V> {
  update: mongo.UpdateFilter<T>;
  value: V;
}

export interface RevisionWriteOptions {
  /** Default `rev`. */
  field?: RevisionField;
  /** Recorded in `appliedEventIds` by the same write, so the event is applied once. */
  eventId?: string;
  /** How many event ids the document remembers; default APPLIED_EVENTS_KEPT. */
  eventsKept?: number;
  /**
   * Write through the mongoose model (its schema casts the update: sub-document defaults, enums)
   * rather than the driver, for documents whose updates rely on that. Default: the driver, since the
   * hot writes (heartbeats, task results) build their updates from typed records, and mongoose's
   * casting and cloning of them would cost more than the write.
   */
  cast?: boolean;
  /** Projection of the document read (and, with `returnStored`, of the one returned). */
  projection?: Record<string, 0 | 1>;
  /** Answer with the document as written (findOneAndUpdate: still one command). */
  returnStored?: boolean;
}

export interface RevisionOptions<T> extends RevisionWriteOptions {
  /** Default REVISION_ATTEMPTS. */
  attempts?: number;
  /** The document as a cache last knew it: decided on first without a read; if stale, the write fails and it is read. */
  known?: T;
  /** Called each time the write finds the document changed by another writer (a cache drops its copy). */
  onConflict?: () => void;
  /** The CONFLICT error's message when the attempts run out; default "<model> <id> kept changing concurrently; try again". */
  conflictMessage?: string;
}

/**
 * The outcome: `current` is the document the last decision was made on (null: there is none).
 * When written, `value` is what `decide` answered and `stored` (with `returnStored`) the document
 * as written; when not (no document, the event was applied already, or `decide` asked for
 * nothing), `current` is the document as it is.
 */
export type RevisionOutcome<T, V, S = undefined> =
  { written: true; current: T; value: V; stored: S } | { written: false; current: T | null };

/** The attempts ran out while other writers kept changing the document; nothing was written. */
export class RevisionConflictError extends PlatformError {
  constructor(message: string) {
    super(ErrorCode.CONFLICT, message);
    this.name = 'RevisionConflictError';
  }
}

const driver = <T extends RevisionedDocument>(model: Model<T>) =>
  model.collection as unknown as mongo.Collection<T>;

const revisionOf = (doc: RevisionedDocument, field: RevisionField) =>
  (doc as unknown as Record<RevisionField, number>)[field];

/**
 * Writes `update` to `current`'s document only if its revision is still the one `current` has,
 * raising the revision (and recording `eventId`) in the same single-document write. Returns
 * whether it was written; with `returnStored`, the document as written (null when not).
 */
export async function writeWithRevision<T extends RevisionedDocument>(
  model: Model<T>,
  current: T,
  update: mongo.UpdateFilter<T>,
  options: RevisionWriteOptions & { returnStored: true },
): Promise<T | null>;
export async function writeWithRevision<T extends RevisionedDocument>(
  model: Model<T>,
  current: T,
  update: mongo.UpdateFilter<T>,
  options?: RevisionWriteOptions,
): Promise<boolean>;
export async function writeWithRevision<T extends RevisionedDocument>(
  model: Model<T>,
  current: T,
  update: mongo.UpdateFilter<T>,
  options: RevisionWriteOptions = {},
): Promise<T | null | boolean> {
  const field = options.field ?? 'rev';
  const filter = { _id: current._id, [field]: revisionOf(current, field) } as mongo.Filter<T>;
  const full: mongo.UpdateFilter<T> = {
    ...update,
    $inc: { ...update.$inc, [field]: 1 },
    ...(options.eventId
      ? {
          $push: {
            ...update.$push,
            appliedEventIds: {
              $each: [options.eventId],
              $slice: -(options.eventsKept ?? APPLIED_EVENTS_KEPT),
            },
          },
        }
      : {}),
  } as mongo.UpdateFilter<T>;
  const projection = options.projection;
  if (options.returnStored) {
    if (options.cast)
      return model
        .findOneAndUpdate(filter, full, { new: true, ...(projection ? { projection } : {}) })
        .lean<T>()
        .exec();
    const stored = await driver(model).findOneAndUpdate(filter, full, {
      returnDocument: 'after',
      ...(projection ? { projection } : {}),
    });
    return stored as T | null;
  }
  if (options.cast) return (await model.updateOne(filter, full)).matchedCount > 0;
  return updateBatcher(model).updateOne(filter, full);
}

/**
 * One batcher per collection: the revision-guarded writes a process issues in one loop turn (the
 * results of one fetched batch, the outcomes of one breaker window ...) go as one bulk write.
 */
const batchers = new WeakMap<object, UpdateBatcher<never>>();
function updateBatcher<T extends RevisionedDocument>(model: Model<T>): UpdateBatcher<T> {
  const collection = driver(model);
  let batcher = batchers.get(collection) as UpdateBatcher<T> | undefined;
  if (!batcher) {
    batcher = createUpdateBatcher(collection);
    batchers.set(collection, batcher as UpdateBatcher<never>);
  }
  return batcher;
}

/**
 * The optimistic read -> decide -> write loop: reads the document (or takes `known` first), lets
 * `decide` say what to change (null: nothing), and writes it with writeWithRevision; when another
 * writer changed the document in between, it reads it again and decides anew, up to `attempts`
 * times, then throws RevisionConflictError. With `eventId`, a document that already applied the
 * event is returned unchanged without deciding.
 *
 * Each attempt costs one read (none for `known`) and one write, as the loops it replaced did;
 * whatever `decide` reads is its own. `decide` runs again on each attempt, so it must only act
 * in ways a repeat makes harmless; the caller acts on the outcome once it is written.
 */
export async function updateWithRevision<T extends RevisionedDocument, V>(
  model: Model<T>,
  id: string,
  decide: (current: T) => Promise<RevisionChange<T, V> | null> | RevisionChange<T, V> | null,
  options: RevisionOptions<T> & { returnStored: true },
): Promise<RevisionOutcome<T, V, T>>;
export async function updateWithRevision<T extends RevisionedDocument, V>(
  model: Model<T>,
  id: string,
  decide: (current: T) => Promise<RevisionChange<T, V> | null> | RevisionChange<T, V> | null,
  options?: RevisionOptions<T>,
): Promise<RevisionOutcome<T, V>>;
export async function updateWithRevision<T extends RevisionedDocument, V>(
  model: Model<T>,
  id: string,
  decide: (current: T) => Promise<RevisionChange<T, V> | null> | RevisionChange<T, V> | null,
  options: RevisionOptions<T> = {},
): Promise<RevisionOutcome<T, V, T | undefined>> {
  const attempts = options.attempts ?? REVISION_ATTEMPTS;
  const projection = options.projection;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const current =
      (attempt === 0 ? options.known : undefined) ??
      ((await driver(model).findOne(
        { _id: id } as mongo.Filter<T>,
        projection ? { projection } : {},
      )) as T | null);
    if (!current) return { written: false, current: null };
    if (options.eventId && current.appliedEventIds?.includes(options.eventId))
      return { written: false, current };
    const change = await decide(current);
    if (!change) return { written: false, current };
    if (options.returnStored) {
      const stored = await writeWithRevision(model, current, change.update, {
        ...options,
        returnStored: true,
      });
      if (stored) return { written: true, current, value: change.value, stored };
    } else if (await writeWithRevision(model, current, change.update, options)) {
      return { written: true, current, value: change.value, stored: undefined };
    }
    options.onConflict?.();
  }
  throw new RevisionConflictError(
    options.conflictMessage ?? `${model.modelName} ${id} kept changing concurrently; try again`,
  );
}
