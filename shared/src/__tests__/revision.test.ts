import type { Connection, Model } from 'mongoose';
import mongoose, { Schema } from 'mongoose';
import type { RevisionChange } from '../index';
import {
  APPLIED_EVENTS_KEPT,
  ErrorCode,
  RevisionConflictError,
  updateWithRevision,
  writeWithRevision,
} from '../index';
import { testDatabase, testInfra, uniqueName } from '../testing';

interface CounterDoc {
  _id: string;
  rev: number;
  count: number;
  notes: string[];
  appliedEventIds: string[];
}

interface NoteDoc {
  _id: string;
  revision: number;
  entries: { text: string; pinned?: boolean }[];
  outbox: string[];
}

/** Revision-guarded writes against the real MongoDB-protocol server, counting the commands they send. */
describe('updateWithRevision and writeWithRevision', () => {
  let db: Awaited<ReturnType<typeof testDatabase>>;
  let watched: Connection;
  let Counter: Model<CounterDoc>;
  let Note: Model<NoteDoc>;
  const commands: string[] = [];

  beforeAll(async () => {
    db = await testDatabase('revision');
    // A second connection to the same database, with command monitoring: what each call costs.
    watched = await mongoose
      .createConnection(testInfra().mongoUrl, {
        dbName: db.connection.name,
        monitorCommands: true,
      })
      .asPromise();
    watched.getClient().on('commandStarted', (e) => {
      if (['find', 'update', 'findAndModify'].includes(e.commandName)) commands.push(e.commandName);
    });
    Counter = watched.model<CounterDoc>(
      'Counter',
      new Schema<CounterDoc>({
        _id: String,
        rev: { type: Number, default: 0 },
        count: { type: Number, default: 0 },
        notes: { type: [String], default: [] },
        appliedEventIds: { type: [String], default: [] },
      }),
    );
    Note = watched.model<NoteDoc>(
      'Note',
      new Schema<NoteDoc>({
        _id: String,
        revision: { type: Number, required: true },
        // The default shows whether an update went through the schema (cast) or not.
        entries: {
          type: [new Schema({ text: String, pinned: { type: Boolean, default: false } })],
          default: [],
        },
        outbox: { type: [String], default: [] },
      }),
    );
  });
  afterAll(async () => {
    await watched.close();
    await db.drop();
  });
  beforeEach(() => {
    commands.length = 0;
  });

  const newCounter = async (fields: Partial<CounterDoc> = {}) => {
    const id = uniqueName('counter');
    await Counter.create({ _id: id, ...fields });
    commands.length = 0;
    return id;
  };
  const stored = (id: string) => Counter.findById(id).lean<CounterDoc>();
  const addOne = (current: CounterDoc): RevisionChange<CounterDoc, number> => ({
    update: { $set: { count: current.count + 1 } },
    value: current.count + 1,
  });

  it('writes what decide asks for, raising the revision, in one read and one write', async () => {
    const id = await newCounter({ count: 4 });
    const outcome = await updateWithRevision(Counter, id, addOne);
    expect(outcome).toMatchObject({ written: true, value: 5, current: { _id: id, count: 4, rev: 0 } });
    expect(commands).toEqual(['find', 'update']);
    expect(await stored(id)).toMatchObject({ count: 5, rev: 1 });
  });

  it('writes nothing when decide asks for nothing, or when there is no document', async () => {
    const id = await newCounter({ count: 4 });
    expect(await updateWithRevision(Counter, id, () => null)).toMatchObject({
      written: false,
      current: { _id: id, count: 4 },
    });
    const decide = jest.fn(addOne);
    expect(await updateWithRevision(Counter, uniqueName('missing'), decide)).toEqual({
      written: false,
      current: null,
    });
    expect(decide).not.toHaveBeenCalled();
    expect(commands).toEqual(['find', 'find']);
    expect(await stored(id)).toMatchObject({ count: 4, rev: 0 });
  });

  it('decides again on the document as another writer left it, and keeps both changes', async () => {
    const id = await newCounter({ count: 1 });
    const onConflict = jest.fn();
    const seen: number[] = [];
    const outcome = await updateWithRevision(
      Counter,
      id,
      async (current) => {
        seen.push(current.count);
        // Another writer gets in between this read and the write below, once.
        if (seen.length === 1)
          await Counter.updateOne({ _id: id }, { $set: { count: 10 }, $inc: { rev: 1 } });
        return addOne(current);
      },
      { onConflict },
    );
    expect(seen).toEqual([1, 10]);
    expect(onConflict).toHaveBeenCalledTimes(1);
    expect(outcome).toMatchObject({ written: true, value: 11 });
    expect(await stored(id)).toMatchObject({ count: 11, rev: 2 });
  });

  it('throws a CONFLICT after its attempts while others keep changing the document, writing nothing', async () => {
    const id = await newCounter();
    let decided = 0;
    const attempt = updateWithRevision(
      Counter,
      id,
      async (current) => {
        decided++;
        await Counter.updateOne({ _id: id }, { $push: { notes: `other ${decided}` }, $inc: { rev: 1 } });
        return addOne(current);
      },
      { attempts: 3 },
    );
    await expect(attempt).rejects.toBeInstanceOf(RevisionConflictError);
    await expect(attempt).rejects.toMatchObject({
      extensions: { code: ErrorCode.CONFLICT },
      message: `Counter ${id} kept changing concurrently; try again`,
    });
    expect(decided).toBe(3);
    expect(await stored(id)).toMatchObject({ count: 0, rev: 3, notes: ['other 1', 'other 2', 'other 3'] });

    const custom = updateWithRevision(
      Counter,
      id,
      async (current) => {
        await Counter.updateOne({ _id: id }, { $inc: { rev: 1 } });
        return addOne(current);
      },
      { attempts: 1, conflictMessage: 'busy; later' },
    );
    await expect(custom).rejects.toThrow('busy; later');
  });

  it('applies an event once, and remembers only the most recent event ids', async () => {
    const id = await newCounter();
    const decide = jest.fn(addOne);
    expect(await updateWithRevision(Counter, id, decide, { eventId: 'ev-1' })).toMatchObject({
      written: true,
    });
    expect(await updateWithRevision(Counter, id, decide, { eventId: 'ev-1' })).toMatchObject({
      written: false,
      current: { count: 1, appliedEventIds: ['ev-1'] },
    });
    expect(decide).toHaveBeenCalledTimes(1);

    // The update's own $push stays beside the event id.
    await updateWithRevision(Counter, id, (c) => ({ update: { $push: { notes: 'two' } }, value: c }), {
      eventId: 'ev-2',
      eventsKept: 2,
    });
    await updateWithRevision(Counter, id, addOne, { eventId: 'ev-3', eventsKept: 2 });
    expect(await stored(id)).toMatchObject({
      count: 2,
      rev: 3,
      notes: ['two'],
      appliedEventIds: ['ev-2', 'ev-3'],
    });
    expect(APPLIED_EVENTS_KEPT).toBeGreaterThan(2);
  });

  it('decides on a known copy without reading it; a stale copy costs one more read', async () => {
    const id = await newCounter({ count: 2 });
    const known = (await stored(id))!;
    commands.length = 0;
    expect(await updateWithRevision(Counter, id, addOne, { known })).toMatchObject({
      written: true,
      value: 3,
    });
    expect(commands).toEqual(['update']);

    // `known` is now a revision behind: its write matches nothing, then the document is read.
    commands.length = 0;
    const onConflict = jest.fn();
    expect(await updateWithRevision(Counter, id, addOne, { known, onConflict })).toMatchObject({
      written: true,
      value: 4,
    });
    expect(commands).toEqual(['update', 'find', 'update']);
    expect(onConflict).toHaveBeenCalledTimes(1);
    expect(await stored(id)).toMatchObject({ count: 4, rev: 2 });
  });

  it('guards by another field name, casts through the schema and returns the stored document when asked', async () => {
    const id = uniqueName('note');
    await Note.create({ _id: id, revision: 1, outbox: ['kept out of reads'] });
    commands.length = 0;
    const outcome = await updateWithRevision(
      Note,
      id,
      (current) => ({
        update: { $set: { entries: [...current.entries, { text: 'first' }] } },
        value: 'noted',
      }),
      { field: 'revision', cast: true, returnStored: true, projection: { outbox: 0 } },
    );
    expect(commands).toEqual(['find', 'findAndModify']);
    expect(outcome.written).toBe(true);
    if (!outcome.written) return;
    expect(outcome.current).not.toHaveProperty('outbox');
    // The schema's default filled `pinned` in: the update went through mongoose.
    expect(outcome.stored).toMatchObject({
      _id: id,
      revision: 2,
      entries: [{ text: 'first', pinned: false }],
    });
    expect(outcome.stored).not.toHaveProperty('outbox');
    expect(outcome.value).toBe('noted');
  });

  it('writeWithRevision writes one guarded update and says whether it matched', async () => {
    const id = await newCounter();
    const current = (await stored(id))!;
    expect(await writeWithRevision(Counter, current, { $set: { count: 7 } }, { eventId: 'ev-1' })).toBe(true);
    // The same revision again: another writer already moved it on.
    expect(await writeWithRevision(Counter, current, { $set: { count: 8 } })).toBe(false);
    expect(
      await writeWithRevision(Counter, current, { $set: { count: 8 } }, { returnStored: true }),
    ).toBeNull();
    expect(await stored(id)).toMatchObject({ count: 7, rev: 1, appliedEventIds: ['ev-1'] });
  });
});
