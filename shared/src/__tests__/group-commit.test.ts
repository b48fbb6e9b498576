import type { mongo } from 'mongoose';
import { createInsertBatcher, createUpdateBatcher, isDuplicateKey, RECENT_WRITES_FIELD } from '../index';
import { testDatabase } from '../testing';

interface Item {
  _id: string;
  n: number;
}

describe('group commit: inserts issued together go to MongoDB as one command', () => {
  let db: Awaited<ReturnType<typeof testDatabase>>;

  beforeAll(async () => {
    db = await testDatabase('group-commit');
  });
  afterAll(async () => {
    await db.drop();
  });

  /** The insert commands the server has received for one collection (the launcher's server counts them). */
  const commandsOn = async (command: string, collection: string) => {
    const status = (await db.connection.db!.admin().command({ serverStatus: 1 })) as {
      waooaw?: { byCollection?: Record<string, number> };
    };
    if (!status.waooaw) throw new Error('the MongoDB server does not count commands (not the launcher’s)');
    return Number(status.waooaw.byCollection?.[`${command} ${db.connection.name}.${collection}`] ?? 0);
  };
  const insertCommands = (collection: string) => commandsOn('insert', collection);

  it('stores fifty concurrent inserts with one insertMany, each caller answered for its own document', async () => {
    const items = db.connection.db!.collection<Item>('items');
    const batcher = createInsertBatcher(items);
    const before = await insertCommands('items');
    await Promise.all(Array.from({ length: 50 }, (_, i) => batcher.insert({ _id: `i${i}`, n: i })));
    expect(await items.countDocuments()).toBe(50);
    expect((await insertCommands('items')) - before).toBe(1);

    // A lone insert is not held back waiting for company.
    await batcher.insert({ _id: 'alone', n: -1 });
    expect(await items.findOne({ _id: 'alone' })).toEqual({ _id: 'alone', n: -1 });
  });

  it('fails only the documents that clash, with the duplicate key error insertOne would give', async () => {
    const items = db.connection.db!.collection<Item>('clashes');
    await items.insertOne({ _id: 'taken', n: 0 });
    const batcher = createInsertBatcher(items);
    const outcomes = await Promise.allSettled(
      ['a', 'taken', 'b', 'a'].map((id, n) => batcher.insert({ _id: id, n })),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
    for (const o of outcomes) if (o.status === 'rejected') expect(isDuplicateKey(o.reason)).toBe(true);
    // Unordered: what follows a clash is stored all the same; the clashing ones changed nothing.
    expect(await items.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'a', n: 0 },
      { _id: 'b', n: 2 },
      { _id: 'taken', n: 0 },
    ]);
  });

  it('gives every caller the failure of the whole request', async () => {
    const down = new Error('connection refused');
    const unreachable = { insertMany: () => Promise.reject(down) } as unknown as Pick<
      mongo.Collection<Item>,
      'insertMany'
    >;
    const batcher = createInsertBatcher(unreachable);
    const outcomes = await Promise.allSettled([1, 2, 3].map((n) => batcher.insert({ _id: `x${n}`, n })));
    expect(outcomes).toEqual([1, 2, 3].map(() => ({ status: 'rejected', reason: down })));
  });

  it('splits what is issued together into requests of at most maxBatch documents', async () => {
    const items = db.connection.db!.collection<Item>('split');
    const batcher = createInsertBatcher(items, { maxBatch: 10 });
    const before = await insertCommands('split');
    await Promise.all(Array.from({ length: 25 }, (_, i) => batcher.insert({ _id: `s${i}`, n: i })));
    expect(await items.countDocuments()).toBe(25);
    expect((await insertCommands('split')) - before).toBe(3);
  });

  interface Versioned {
    _id: string;
    rev: number;
    by: string[];
  }

  /** A guarded update as the revision writes make them: this revision, or nothing. */
  const guarded = (id: string, rev: number, by: string) => ({
    filter: { _id: id, rev },
    update: { $inc: { rev: 1 }, $push: { by } },
  });

  it('sends conditional updates issued together as one command, each caller told whether its own matched', async () => {
    const docs = db.connection.db!.collection<Versioned>('versioned');
    await docs.insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: `v${i}`, rev: 0, by: [] })));
    const batcher = createUpdateBatcher(docs);
    const before = await commandsOn('update', 'versioned');
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => {
        const { filter, update } = guarded(`v${i}`, 0, 'first');
        return batcher.updateOne(filter, update);
      }),
    );
    expect(results).toEqual(Array.from({ length: 30 }, () => true));
    expect((await commandsOn('update', 'versioned')) - before).toBe(1);
    const stored = await docs.findOne({ _id: 'v7' });
    expect(stored).toMatchObject({ rev: 1, by: ['first'] });
    // The update also carried its token, which is how a race is told apart (below).
    expect((stored as unknown as Record<string, string[]>)[RECENT_WRITES_FIELD]).toHaveLength(1);
  });

  it('tells the winner of a race from the loser, and a stale revision from a current one', async () => {
    const docs = db.connection.db!.collection<Versioned>('raced');
    await docs.insertMany([
      { _id: 'r1', rev: 3, by: [] },
      { _id: 'r2', rev: 5, by: [] },
    ]);
    const batcher = createUpdateBatcher(docs);
    const writes = [
      guarded('r1', 3, 'a'), // two writers decided on revision 3 of r1: one of them wins
      guarded('r1', 3, 'b'),
      guarded('r2', 4, 'c'), // decided on a revision r2 is already past
      guarded('r2', 5, 'd'),
      guarded('gone', 0, 'e'), // no such document
    ];
    const results = await Promise.all(writes.map((w) => batcher.updateOne(w.filter, w.update)));
    const r1 = (await docs.findOne({ _id: 'r1' }))!;
    const r2 = (await docs.findOne({ _id: 'r2' }))!;
    expect(r1.rev).toBe(4);
    expect(r1.by).toHaveLength(1);
    // Each caller's answer is what happened to its own update.
    expect(results).toEqual([r1.by[0] === 'a', r1.by[0] === 'b', false, true, false]);
    expect(r2).toMatchObject({ rev: 6, by: ['d'] });
  });

  it('gives every caller the failure of a bulk write that did not happen', async () => {
    const down = new Error('connection refused');
    const unreachable = {
      bulkWrite: () => Promise.reject(down),
      find: () => {
        throw new Error('nothing to read back');
      },
    } as unknown as Pick<mongo.Collection<Versioned>, 'bulkWrite' | 'find'>;
    const batcher = createUpdateBatcher(unreachable);
    const outcomes = await Promise.allSettled(
      [1, 2].map((n) => {
        const { filter, update } = guarded(`u${n}`, 0, 'x');
        return batcher.updateOne(filter, update);
      }),
    );
    expect(outcomes).toEqual([1, 2].map(() => ({ status: 'rejected', reason: down })));
  });
});
