import type { mongo } from 'mongoose';
import { createInsertBatcher, isDuplicateKey } from '../index';
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
  const insertCommands = async (collection: string) => {
    const status = (await db.connection.db!.admin().command({ serverStatus: 1 })) as {
      waooaw?: { byCollection?: Record<string, number> };
    };
    if (!status.waooaw) throw new Error('the MongoDB server does not count commands (not the launcher’s)');
    return Number(status.waooaw.byCollection?.[`insert ${db.connection.name}.${collection}`] ?? 0);
  };

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
});
