import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import type { LauncherOptions } from '../index';
import { down, freePorts, launcherOptions, up } from '../index';

/**
 * The persistent MongoDB-protocol server (`npm start`, the chaos run): the in-memory backend with a
 * journal of its writes. What it acknowledged must come back after SIGKILL, byte for byte, whatever
 * the kind of write: upserts whose _id the server chose, failed writes, dropped collections, indexes.
 */
describe('persistent MongoDB: the write journal', () => {
  let stateDir: string;
  let opts: LauncherOptions;
  let pid: number | undefined;
  let connection: mongoose.Connection | undefined;

  const start = async () => {
    const result = await up(opts);
    const mongo = result.statuses.find((s) => s.name === 'mongo');
    if (!mongo?.pid || !result.started.includes('mongo'))
      throw new Error(`MongoDB did not start: ${JSON.stringify(mongo)}`);
    pid = mongo.pid;
    connection = await mongoose
      .createConnection(result.mongoUrl, { serverSelectionTimeoutMS: 10_000 })
      .asPromise();
    return connection.db!;
  };

  const killHard = async () => {
    await connection?.close(true).catch(() => undefined);
    connection = undefined;
    const target = pid!;
    process.kill(target, 'SIGKILL');
    pid = undefined;
    // Gone means the pid no longer answers signal 0; its port is free then.
    for (;;) {
      try {
        process.kill(target, 0);
      } catch {
        break;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  };

  const journalFile = () => {
    const dataDir = path.join(stateDir, 'data');
    const mongoDir = readdirSync(dataDir).find((d) => d.startsWith('mongo-'))!;
    return path.join(dataDir, mongoDir, 'waooaw.journal');
  };

  /** Everything a client can see of the database, in a stable order. */
  const dump = async (db: mongoose.mongo.Db) => {
    const collections = (await db.listCollections().toArray()).map((c) => c.name).sort();
    const out: Record<string, unknown> = { collections };
    for (const name of collections) {
      out[name] = {
        documents: await db.collection(name).find().sort({ _id: 1 }).toArray(),
        indexes: (await db.collection(name).indexes()).map((i) => ({
          name: i.name,
          key: i.key,
          unique: !!i.unique,
        })),
      };
    }
    return JSON.parse(JSON.stringify(out)) as unknown;
  };

  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'waooaw-journal-test-'));
    const [mongoPort] = (await freePorts(1)) as [number];
    // Kafka is the suite's (named, so the launcher only checks it); MongoDB is this test's own.
    opts = launcherOptions({
      env: { KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '' },
      stateDir,
      mongoPort,
      ephemeral: false,
      mongoHeap: '-Xms32m -Xmx256m',
    });
  });

  afterAll(async () => {
    await connection?.close(true).catch(() => undefined);
    await down(opts, ['mongo']);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('brings back every acknowledged write after SIGKILL, and drops a torn last record', async () => {
    const db = await start();
    const items = db.collection<{
      key: number;
      text?: string;
      tags?: (number | string)[];
      seen?: number;
      upserted?: string;
    }>('items');
    await items.createIndex({ key: 1 }, { unique: true });
    await items.insertMany(
      Array.from({ length: 300 }, (_, i) => ({ key: i, text: 'x'.repeat(i % 40), tags: [i] })),
    );
    await items.updateMany({ key: { $lt: 50 } }, { $inc: { seen: 1 }, $push: { tags: 'hot' } });
    await items.deleteMany({ key: { $gte: 250 } });
    // Upserts without an _id in their filter: the server picks the _id, and a replay must pick the same.
    await items.updateOne({ key: 1000 }, { $set: { upserted: 'updateOne' } }, { upsert: true });
    await items.findOneAndUpdate({ key: 1001 }, { $set: { upserted: 'findOneAndUpdate' } }, { upsert: true });
    await items.findOneAndUpdate({ key: 1001 }, { $inc: { seen: 1 } }, { upsert: true });
    await expect(items.insertOne({ key: 1 })).rejects.toMatchObject({ code: 11000 });
    await db.collection('scratch').insertOne({ gone: true });
    await db.collection('scratch').drop();
    await db.createCollection('empty');
    // Acknowledged at the same moment from many connections: all of them, in whatever order they ran.
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        db
          .collection<{ _id: string; seen: number[] }>('burst')
          .updateOne({ _id: `b${i % 50}` }, { $push: { seen: i } }, { upsert: true }),
      ),
    );
    const before = await dump(db);

    await killHard();
    const afterKill = await dump(await start());
    expect(afterKill).toEqual(before);
    // The unique index is back, not only its description.
    await expect(connection!.db!.collection('items').insertOne({ key: 2 })).rejects.toMatchObject({
      code: 11000,
    });

    await killHard();
    // A kill in the middle of an append leaves part of a record, which was never acknowledged.
    const size = statSync(journalFile()).size;
    appendFileSync(journalFile(), Buffer.from([0x40, 0x00, 0x00, 0x00, 0x02, 0x64]));
    const afterTear = await dump(await start());
    expect(afterTear).toEqual(before);
    // At start the journal is rewritten as a snapshot of the data: no larger than before the tear.
    expect(statSync(journalFile()).size).toBeLessThanOrEqual(size);
  });

  it('counts the commands clients send in serverStatus, not what the journal replays', async () => {
    await killHard();
    const db = await start();
    type Counts = { commands: Record<string, number>; byCollection: Record<string, number> };
    const counts = async () => ((await db.admin().command({ serverStatus: 1 })) as { waooaw: Counts }).waooaw;
    const commands = async () => (await counts()).commands;
    // The restart replayed the first test's hundreds of writes; none of them is a client's command.
    const atStart = await commands();
    expect(atStart.insert ?? 0).toBe(0);
    expect(atStart.update ?? 0).toBe(0);

    const items = db.collection('items');
    await items.find({ key: 1 }).toArray();
    await items.find({ key: 2 }).toArray();
    await items.insertMany([{ key: 5000 }, { key: 5001 }]);
    await items.updateOne({ key: 5000 }, { $set: { seen: 1 } });
    const after = await commands();
    // One command per request, whatever it carries: the insert of two documents is one.
    expect((after.find ?? 0) - (atStart.find ?? 0)).toBe(2);
    expect((after.insert ?? 0) - (atStart.insert ?? 0)).toBe(1);
    expect((after.update ?? 0) - (atStart.update ?? 0)).toBe(1);
    expect((after.serverstatus ?? 0) - (atStart.serverstatus ?? 0)).toBe(1);
    // And where they went: by command, database and collection.
    const { byCollection } = await counts();
    expect(byCollection[`find ${db.databaseName}.items`]).toBe(2);
    expect(byCollection[`insert ${db.databaseName}.items`]).toBe(1);
  });

  it('answers a filter that pins a unique index plus other fields through that index, not a scan', async () => {
    const db = connection!.db!;
    type Doc = { _id: string; rev: number; group: string; slot: number };
    const docs = db.collection<Doc>('planner');
    await docs.createIndex({ group: 1, slot: 1 }, { unique: true });
    await docs.insertMany(
      Array.from({ length: 2000 }, (_, i) => ({ _id: `d${i}`, rev: i % 7, group: `g${i % 20}`, slot: i })),
    );
    const scans = async () =>
      ((await db.admin().command({ serverStatus: 1 })) as { waooaw: { scans: Record<string, number> } })
        .waooaw.scans[`${db.databaseName}.planner`] ?? 0;
    const before = await scans();

    // The revision guard: _id and rev. Right answers both ways, and no scan.
    expect((await docs.updateOne({ _id: 'd10', rev: 3 }, { $set: { rev: 4 } })).matchedCount).toBe(1);
    expect((await docs.updateOne({ _id: 'd10', rev: 3 }, { $set: { rev: 5 } })).matchedCount).toBe(0);
    expect((await docs.findOne({ _id: 'd10' }))?.rev).toBe(4);
    // $in on _id with another condition: only the listed documents that also match it.
    const listed = await docs.find({ _id: { $in: ['d1', 'd8', 'd15', 'nope'] }, rev: 1 }).toArray();
    expect(listed.map((d) => d._id).sort()).toEqual(['d1', 'd15', 'd8']);
    // A compound unique index pinned by equality, with a further condition.
    expect(await docs.find({ group: 'g3', slot: 23, rev: 2 }).toArray()).toHaveLength(1);
    expect(await docs.find({ group: 'g3', slot: 23, rev: 3 }).toArray()).toHaveLength(0);
    expect(await scans()).toBe(before);

    // A filter no index pins still works, by reading everything, and is counted.
    expect(await docs.find({ rev: 4, group: 'g10' }).toArray()).toHaveLength(
      Array.from({ length: 2000 }, (_, i) => i).filter((i) => (i === 10 ? 4 : i % 7) === 4 && i % 20 === 10)
        .length,
    );
    expect(await scans()).toBe(before + 1);
  });
});
