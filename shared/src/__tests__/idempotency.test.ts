import type { Model, mongo } from 'mongoose';
import { Schema } from 'mongoose';
import { APPLIED_EVENTS_KEPT, appliedEventsSchemaFields, applyOnce, updateIfMatches } from '../index';
import { testDatabase, uniqueName } from '../testing';

interface AccountDoc {
  _id: string;
  balance: number;
  history: string[];
  appliedEventIds: string[];
}

interface TaskDoc {
  _id: string;
  revision: number;
  status: string;
}

/** Conditional single-document writes against the real MongoDB-protocol server. */
describe('applyOnce and updateIfMatches', () => {
  let db: Awaited<ReturnType<typeof testDatabase>>;
  let Account: Model<AccountDoc>;
  let tasks: mongo.Collection<TaskDoc>;

  beforeAll(async () => {
    db = await testDatabase('idempotency');
    Account = db.connection.model<AccountDoc>(
      'Account',
      new Schema<AccountDoc>({
        _id: String,
        balance: { type: Number, default: 0 },
        history: { type: [String], default: [] },
        ...appliedEventsSchemaFields,
      }),
    );
    tasks = db.connection.db!.collection<TaskDoc>('tasks');
  });
  afterAll(async () => {
    await db.drop();
  });

  const id = () => uniqueName('acc');
  const balanceOf = async (accountId: string) => (await Account.findById(accountId).lean())?.balance;

  describe('applyOnce', () => {
    it('applies an event once: true the first time, false for the same event id again', async () => {
      const accountId = id();
      await Account.create({ _id: accountId });
      expect(await applyOnce(Account, { _id: accountId }, 'ev-1', { $inc: { balance: 10 } })).toBe(true);
      expect(await applyOnce(Account, { _id: accountId }, 'ev-1', { $inc: { balance: 10 } })).toBe(false);
      expect(await applyOnce(Account, { _id: accountId }, 'ev-2', { $inc: { balance: 5 } })).toBe(true);
      expect(await balanceOf(accountId)).toBe(15);
      expect((await Account.findById(accountId).lean())!.appliedEventIds).toEqual(['ev-1', 'ev-2']);
    });

    it('applies events that arrived together in one write, only while none of them was applied', async () => {
      const accountId = id();
      await Account.create({ _id: accountId });
      expect(await applyOnce(Account, { _id: accountId }, ['ev-1', 'ev-2'], { $inc: { balance: 3 } })).toBe(
        true,
      );
      // ev-2 is already recorded: the group is refused whole, and the caller goes one by one.
      expect(await applyOnce(Account, { _id: accountId }, ['ev-2', 'ev-3'], { $inc: { balance: 7 } })).toBe(
        false,
      );
      expect(await applyOnce(Account, { _id: accountId }, 'ev-2', { $inc: { balance: 2 } })).toBe(false);
      expect(await applyOnce(Account, { _id: accountId }, 'ev-3', { $inc: { balance: 5 } })).toBe(true);
      expect(await balanceOf(accountId)).toBe(8);
      expect((await Account.findById(accountId).lean())!.appliedEventIds).toEqual(['ev-1', 'ev-2', 'ev-3']);
    });

    it('returns false and creates nothing when no document matches (without upsert)', async () => {
      const accountId = id();
      expect(await applyOnce(Account, { _id: accountId }, 'ev-1', { $inc: { balance: 10 } })).toBe(false);
      expect(await Account.findById(accountId).lean()).toBeNull();

      // A filter that names a state the document is not in does not match either.
      await Account.create({ _id: accountId, balance: 3 });
      expect(
        await applyOnce(Account, { _id: accountId, balance: { $gte: 100 } }, 'ev-2', {
          $inc: { balance: -100 },
        }),
      ).toBe(false);
      expect(await balanceOf(accountId)).toBe(3);
      expect((await Account.findById(accountId).lean())!.appliedEventIds).toEqual([]);
    });

    it('creates the document with upsert for the first event about it, and applies a duplicate never', async () => {
      const accountId = id();
      expect(
        await applyOnce(Account, { _id: accountId }, 'ev-1', { $inc: { balance: 7 } }, { upsert: true }),
      ).toBe(true);
      expect(await Account.findById(accountId).lean()).toMatchObject({
        _id: accountId,
        balance: 7,
        appliedEventIds: ['ev-1'],
      });
      // The duplicate matches no document (its id is recorded): the upsert's insert hits the unique _id.
      expect(
        await applyOnce(Account, { _id: accountId }, 'ev-1', { $inc: { balance: 7 } }, { upsert: true }),
      ).toBe(false);
      expect(
        await applyOnce(Account, { _id: accountId }, 'ev-2', { $inc: { balance: 1 } }, { upsert: true }),
      ).toBe(true);
      expect(await balanceOf(accountId)).toBe(8);
    });

    it('applies one of several concurrent deliveries of the same event', async () => {
      const accountId = id();
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, () =>
          applyOnce(Account, { _id: accountId }, 'ev-1', { $inc: { balance: 1 } }, { upsert: true }),
        ),
      );
      expect(outcomes.filter(Boolean)).toHaveLength(1);
      expect(await balanceOf(accountId)).toBe(1);
    });

    it("keeps the update's own $push beside the event id, and only the most recent ids", async () => {
      const accountId = id();
      await Account.create({ _id: accountId });
      expect(
        await applyOnce(Account, { _id: accountId }, 'ev-1', {
          $inc: { balance: 1 },
          $push: { history: 'deposit 1' },
        }),
      ).toBe(true);
      expect(await Account.findById(accountId).lean()).toMatchObject({
        history: ['deposit 1'],
        appliedEventIds: ['ev-1'],
      });

      await Account.updateOne(
        { _id: accountId },
        { $set: { appliedEventIds: Array.from({ length: APPLIED_EVENTS_KEPT }, (_, i) => `old-${i}`) } },
      );
      expect(await applyOnce(Account, { _id: accountId }, 'ev-2', { $inc: { balance: 1 } })).toBe(true);
      const kept = (await Account.findById(accountId).lean())!.appliedEventIds;
      expect(kept).toHaveLength(APPLIED_EVENTS_KEPT);
      expect(kept[0]).toBe('old-1');
      expect(kept.at(-1)).toBe('ev-2');
    });
  });

  describe('updateIfMatches', () => {
    it('updates and returns true only while the filter (a revision guard) matches', async () => {
      const taskId = uniqueName('task');
      await tasks.insertOne({ _id: taskId, revision: 1, status: 'SUBMITTED' });

      expect(
        await updateIfMatches(
          tasks,
          { _id: taskId, revision: 1 },
          { $set: { status: 'WORKING' }, $inc: { revision: 1 } },
        ),
      ).toBe(true);
      // A writer that read revision 1 too lost the race: nothing changes.
      expect(
        await updateIfMatches(
          tasks,
          { _id: taskId, revision: 1 },
          { $set: { status: 'CANCELED' }, $inc: { revision: 1 } },
        ),
      ).toBe(false);
      expect(await tasks.findOne({ _id: taskId })).toEqual({ _id: taskId, revision: 2, status: 'WORKING' });
      expect(await updateIfMatches(tasks, { _id: uniqueName('missing') }, { $set: { status: 'X' } })).toBe(
        false,
      );
    });

    it('inserts with upsert and reports it as matched', async () => {
      const taskId = uniqueName('task');
      expect(
        await updateIfMatches(
          tasks,
          { _id: taskId },
          { $setOnInsert: { revision: 1 }, $set: { status: 'SUBMITTED' } },
          { upsert: true },
        ),
      ).toBe(true);
      expect(await tasks.findOne({ _id: taskId })).toEqual({ _id: taskId, revision: 1, status: 'SUBMITTED' });
      expect(await tasks.countDocuments({ _id: taskId })).toBe(1);
    });
  });
});
