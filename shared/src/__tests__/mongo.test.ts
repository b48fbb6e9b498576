import type { Model } from 'mongoose';
import { Schema } from 'mongoose';
import type { PlatformError } from '../index';
import { createByIdLoader, createGroupLoader, ErrorCode, toPlatformError } from '../index';
import { testDatabase } from '../testing';

describe('mongoose on the MongoDB-protocol server', () => {
  interface AgentDoc {
    handle: string;
    name: string;
    tags: string[];
  }
  let db: Awaited<ReturnType<typeof testDatabase>>;
  let Agent: Model<AgentDoc>;
  beforeAll(async () => {
    db = await testDatabase('mongo');
    Agent = db.connection.model<AgentDoc>(
      'Agent',
      new Schema<AgentDoc>({
        handle: { type: String, required: true, unique: true, match: /^[a-z][a-z0-9-]+$/ },
        name: { type: String, required: true },
        tags: [String],
      }),
    );
    await Agent.init(); // builds the unique index
  });
  afterAll(() => db.drop());

  it('creates, reads, updates and deletes documents', async () => {
    const model = Agent;
    const created = await model.create({ handle: 'wow-crud', name: 'Crud', tags: ['a'] });
    expect((await model.findById(created._id).lean())?.name).toBe('Crud');
    await model.updateOne({ _id: created._id }, { $set: { name: 'Crud 2' }, $addToSet: { tags: 'b' } });
    expect(await model.findById(created._id).lean()).toMatchObject({ name: 'Crud 2', tags: ['a', 'b'] });
    await model.deleteOne({ _id: created._id });
    expect(await model.findById(created._id)).toBeNull();
  });

  it('turns a unique index violation into a CONFLICT error naming the value', async () => {
    const model = Agent;
    await model.create({ handle: 'wow-unique', name: 'First' });
    const err = await model.create({ handle: 'wow-unique', name: 'Second' }).catch((e: unknown) => e);
    const mapped = toPlatformError(err) as PlatformError;
    expect(mapped.extensions.code).toBe(ErrorCode.CONFLICT);
    expect(mapped.message).toContain('wow-unique');
    expect(await model.countDocuments({ handle: 'wow-unique' })).toBe(1);
  });

  it('turns schema validation failures into BAD_USER_INPUT naming the field', async () => {
    const err = await Agent.create({ handle: 'Not A Handle!' }).catch((e: unknown) => e);
    const mapped = toPlatformError(err);
    expect(mapped.extensions.code).toBe(ErrorCode.BAD_USER_INPUT);
    expect(Object.keys(mapped.extensions.fields as object).sort()).toEqual(['handle', 'name']);
  });

  it('batches DataLoader lookups into one query and keeps the order asked for', async () => {
    const model = Agent;
    const docs = await model.insertMany(['a', 'b', 'c'].map((x) => ({ handle: `wow-dl-${x}`, name: x })));
    let queries = 0;
    const loader = createByIdLoader(
      async (ids) => {
        queries++;
        return model.find({ _id: { $in: ids } }).lean();
      },
      (doc) => String(doc._id),
    );
    const missing = '64b000000000000000000000';
    const ids = [docs[2]!, docs[0]!, docs[1]!].map((d) => String(d._id));
    const results = await Promise.all([...ids, missing].map((id) => loader.load(id)));
    expect(queries).toBe(1);
    expect(results.map((r) => r?.name ?? null)).toEqual(['c', 'a', 'b', null]);

    const byTag = createGroupLoader(
      async (tags) => {
        queries++;
        return model.find({ handle: { $in: tags.map((t) => `wow-dl-${t}`) } }).lean();
      },
      (doc) => doc.handle.replace('wow-dl-', ''),
    );
    const groups = await Promise.all(['a', 'zzz', 'c'].map((t) => byTag.load(t)));
    expect(queries).toBe(2);
    expect(groups.map((g) => g.length)).toEqual([1, 0, 1]);
  });
});
