import { connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Kafka, KafkaJSError, KafkaJSNonRetriableError, logLevel } from 'kafkajs';
import mongoose, { Schema } from 'mongoose';
import { z } from 'zod';
import {
  errorSummary,
  InvalidEventError,
  isTransientError,
  TransientError,
  transientEvidence,
} from '../index';

/** A port nothing listens on: bound, then closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** What a promise rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('isTransientError', () => {
  let port: number;
  beforeAll(async () => {
    port = await closedPort();
  });

  // Each error here is what the library really throws when the dependency is gone.
  it('recognises the errors the drivers raise when MongoDB is unreachable', async () => {
    const client = new mongoose.mongo.MongoClient(`mongodb://127.0.0.1:${port}`, {
      serverSelectionTimeoutMS: 200,
    });
    const selection = await rejection(client.db('x').command({ ping: 1 }));
    await client.close();
    expect((selection as Error).name).toBe('MongoServerSelectionError');
    expect(transientEvidence(selection)).toBe('MongoServerSelectionError');

    const viaMongoose = await rejection(
      mongoose
        .createConnection(`mongodb://127.0.0.1:${port}/x`, { serverSelectionTimeoutMS: 200 })
        .asPromise(),
    );
    expect((viaMongoose as Error).name).toBe('MongooseServerSelectionError');
    expect(isTransientError(viaMongoose)).toBe(true);

    // An operation on a connection that is down waits bufferTimeoutMS, then throws a plain MongooseError.
    const idle = mongoose.createConnection();
    const Thing = idle.model('Thing', new Schema({ name: String }, { bufferTimeoutMS: 50 }));
    const buffering = await rejection(Thing.findOne({ name: 'a' }).exec());
    expect((buffering as Error).message).toMatch(/buffering timed out after 50ms/);
    expect(isTransientError(buffering)).toBe(true);
    await idle.close();

    // Server answers that mean "not now": labelled retryable, or a replica-set state code.
    const notPrimary = new mongoose.mongo.MongoServerError({ message: 'not primary', code: 10107 });
    expect(transientEvidence(notPrimary)).toBe('MongoServerError code 10107');
    const labelled = new mongoose.mongo.MongoServerError({ message: 'interrupted', code: 1 });
    labelled.addErrorLabel('RetryableWriteError');
    expect(transientEvidence(labelled)).toBe('MongoServerError labelled RetryableWriteError');
    const stepDown = new mongoose.mongo.MongoServerError({ message: 'stepped down', code: 189 });
    expect(isTransientError(stepDown)).toBe(true);
    expect(
      isTransientError(new mongoose.mongo.MongoNetworkError('connection 3 to 127.0.0.1:27017 closed')),
    ).toBe(true);
    expect(isTransientError(new mongoose.mongo.MongoNetworkTimeoutError('connection timed out'))).toBe(true);
  });

  // Seen in a chaos run: MongoDB went down between server selection and a group commit's bulkWrite.
  // The driver's connect turns the socket's refusal into a MongoNetworkError (cmap/connect.js), and
  // the bulk operation wraps whatever a batch throws in a MongoBulkWriteError (bulk/common.js); this
  // builds both with the driver's own constructors, from a real refusal, the way the driver does.
  it('recognises a bulk write that failed because the connection was refused or reset', async () => {
    const refused = await rejection(
      new Promise((_resolve, reject) => connect(port, '127.0.0.1').on('error', reject)),
    );
    const { MongoNetworkError, MongoBulkWriteError } = mongoose.mongo;
    const network = new MongoNetworkError((refused as Error).message, { cause: refused as Error });
    // The second argument is the driver's BulkWriteResult, which it does not export; the wrapper only keeps it.
    const bulk = new MongoBulkWriteError(network, { insertedCount: 0 } as never);
    expect(bulk.name).toBe('MongoBulkWriteError');
    expect(bulk.message).toMatch(/connect ECONNREFUSED/);
    expect(transientEvidence(bulk)).toBe('MongoNetworkError');

    // A bulk write that the server refused document by document stays permanent.
    const duplicate = new MongoBulkWriteError(
      {
        message: 'E11000 duplicate key error',
        code: 11000,
        writeErrors: [{ index: 0, code: 11000, errmsg: 'E11000 duplicate key error' }],
      } as never,
      { insertedCount: 0 } as never,
    );
    expect(isTransientError(duplicate)).toBe(false);
    // And one whose write concern timed out is transient by its code, as before.
    const concern = new MongoBulkWriteError({ message: 'waiting for replication timed out', code: 64 }, {
      insertedCount: 0,
    } as never);
    expect(transientEvidence(concern)).toBe('MongoBulkWriteError code 64');
  });

  it('recognises Kafka, socket and timeout failures, also wrapped as a cause', async () => {
    const kafka = new Kafka({
      brokers: [`127.0.0.1:${port}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 1, initialRetryTime: 20 },
    });
    const producer = kafka.producer();
    const unreachable = await rejection(producer.connect());
    expect((unreachable as Error).name).toMatch(/^KafkaJS/);
    expect(isTransientError(unreachable)).toBe(true);
    expect(isTransientError(new KafkaJSError('leader not available'))).toBe(true);
    expect(isTransientError(new KafkaJSNonRetriableError('message too large'))).toBe(false);

    const refused = await rejection(
      new Promise((_resolve, reject) => connect(port, '127.0.0.1').on('error', reject)),
    );
    expect(transientEvidence(refused)).toBe('ECONNREFUSED');
    // fetch wraps the socket error: TypeError("fetch failed") with the refusal as its cause.
    const fetched = await rejection(fetch(`http://127.0.0.1:${port}/`));
    expect((fetched as Error).name).toBe('TypeError');
    expect(transientEvidence(fetched)).toBe('ECONNREFUSED');

    const signal = AbortSignal.timeout(1);
    await new Promise((resolve) => signal.addEventListener('abort', resolve));
    expect(isTransientError(signal.reason)).toBe(true);

    const wrapped = new Error('saving the task failed', {
      cause: new mongoose.mongo.MongoNetworkError('socket hang up'),
    });
    expect(transientEvidence(wrapped)).toBe('MongoNetworkError');
    expect(isTransientError(new TransientError('runtime answered 503'))).toBe(true);
  });

  it('treats validation, schema, duplicate keys and programming errors as permanent', async () => {
    const conn = mongoose.createConnection();
    const Order = conn.model('Order', new Schema({ amount: { type: Number, required: true, min: 1 } }));
    const validation = await rejection(new Order({ amount: 0 }).validate());
    expect((validation as Error).name).toBe('ValidationError');
    const cast = await rejection(new Order({ amount: 'lots' }).validate());
    await conn.close();
    const zod = z.object({ id: z.string() }).safeParse({ id: 7 }).error;
    const duplicate = new mongoose.mongo.MongoServerError({ message: 'E11000 duplicate key', code: 11000 });
    for (const err of [
      validation,
      cast,
      zod,
      duplicate,
      new InvalidEventError('no JSON', 'unparseable'),
      new TypeError("Cannot read properties of undefined (reading 'id')"),
      new Error('agent definition has no capabilities'),
      'a string',
      undefined,
      null,
    ])
      expect([errorSummary(err), isTransientError(err)]).toEqual([errorSummary(err), false]);
  });
});
