import { Kafka, logLevel } from 'kafkajs';
import mongoose from 'mongoose';

/**
 * One readiness attempt against Kafka: the admin client must list topics, and the group
 * coordinator must answer (a fresh broker creates __consumer_offsets lazily; consumers started
 * before that crash with COORDINATOR_LOAD_IN_PROGRESS).
 */
export async function probeKafka(brokers: string[]): Promise<boolean> {
  const kafka = new Kafka({
    clientId: 'waooaw-infra-probe',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 5000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
    // Throws (COORDINATOR_LOAD_IN_PROGRESS / NOT_AVAILABLE) until the group coordinator is ready.
    const { groups } = await admin.describeGroups(['waooaw-infra-probe']);
    return groups.length === 1;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** One readiness attempt against a MongoDB-protocol server: the `ping` command must succeed. */
export async function probeMongo(url: string): Promise<boolean> {
  const connection = mongoose.createConnection(url, {
    serverSelectionTimeoutMS: 1500,
    connectTimeoutMS: 1500,
  });
  try {
    await connection.asPromise();
    const db = connection.db;
    if (!db) return false;
    const reply = await db.admin().ping();
    return reply.ok === 1;
  } catch {
    return false;
  } finally {
    await connection.close().catch(() => undefined);
  }
}
