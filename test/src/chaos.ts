import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Consumer } from 'kafkajs';
import { Kafka, logLevel } from 'kafkajs';
import { catalogue } from '@waooaw/agents/runtime';
import { CALLER_HEADER, namespacedGroup, namespacedTopic, signCallerToken } from '@waooaw/shared';
import type { GraphQLResult } from '@waooaw/shared/testing';
import { pollFor, testInfra, uniqueName } from '@waooaw/shared/testing';
import { down, launcherOptions, up } from '@waooaw/infra';
import { freePort, SECRET } from './platform';

/** True while a process with this pid exists (a zombie counts: its port may still be bound). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A MongoDB-protocol server of the test's own, on a free port, with its data in a file (so a
 * server killed with SIGKILL comes back with what it had written): the test can freeze or kill it
 * without touching the shared test MongoDB that other test files use at the same time.
 */
export async function startOwnMongo() {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'waooaw-chaos-'));
  // The launcher starts what the environment does not name: the shared Kafka is named (the launcher
  // only checks it), the shared MongoDB is not, so it starts a MongoDB of its own.
  const env: NodeJS.ProcessEnv = { ...process.env, KAFKA_BROKERS: testInfra().brokers.join(',') };
  delete env.MONGO_URL;
  const opts = launcherOptions({
    env,
    stateDir,
    mongoPort: await freePort(),
    ephemeral: false,
    // A few hundred small tasks: the default 2 GB heap is for `npm start`.
    mongoHeap: '-Xms64m -Xmx512m',
    readyTimeoutMs: 60_000,
  });
  let pid: number | undefined;
  let frozen = false;
  const start = async () => {
    const result = await up(opts);
    const mongo = result.statuses.find((s) => s.name === 'mongo');
    if (!mongo?.pid || !result.started.includes('mongo'))
      throw new Error(`the chaos test's own MongoDB did not start: ${JSON.stringify(mongo)}`);
    pid = mongo.pid;
    return result.mongoUrl;
  };
  const url = await start();
  const current = () => {
    if (pid === undefined) throw new Error('the own MongoDB is not running');
    return pid;
  };
  return {
    url,
    /** SIGSTOP: connections stay open, nothing answers (a stalled disk, a long GC pause). */
    freeze() {
      process.kill(current(), 'SIGSTOP');
      frozen = true;
    },
    thaw() {
      process.kill(current(), 'SIGCONT');
      frozen = false;
    },
    /** SIGKILL: every connection is reset; the data file keeps what the server had committed. */
    async kill() {
      const target = current();
      process.kill(target, 'SIGKILL');
      pid = undefined;
      await pollFor(() => !alive(target), { what: `the killed MongoDB (pid ${target}) to be gone` });
    },
    /** Starts it again on the same port and data file. */
    async restart() {
      await start();
    },
    /** Stops it (thawed first, so SIGTERM is heard) and removes its data. */
    async stop() {
      if (frozen && pid !== undefined) process.kill(pid, 'SIGCONT');
      await down(opts, ['mongo']);
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export interface DeadLetter {
  topic: string;
  group: string;
  reason: string;
  error: string;
}

/**
 * Every message dead-lettered from now on by a consumer group whose name starts with one of
 * `groupPrefixes` (the `x-dlq-consumer-group` header), on any `*.dlq` topic of `namespace` that
 * exists now: other test files in the same namespace may dead-letter their own poison meanwhile.
 */
export async function watchDeadLetters(groupPrefixes: string[], namespace = testInfra().namespace) {
  const kafka = new Kafka({
    clientId: 'chaos-dlq-watcher',
    brokers: testInfra().brokers,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  // The namespace's dead-letter topics only, and groups as the broker names them.
  const inRun = namespacedTopic(namespace, '');
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(inRun) && t.endsWith('.dlq'));
  const prefixes = groupPrefixes.map((prefix) => namespacedGroup(namespace, prefix));
  const ends = await Promise.all(
    topics.map(async (topic) => ({ topic, offsets: await admin.fetchTopicOffsets(topic) })),
  );
  await admin.disconnect();
  const letters: DeadLetter[] = [];
  const consumer: Consumer = kafka.consumer({ groupId: uniqueName('chaos-dlq'), maxWaitTimeInMs: 250 });
  let markJoined!: () => void;
  const joined = new Promise<void>((resolve) => (markJoined = resolve));
  consumer.on(consumer.events.GROUP_JOIN, () => markJoined());
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: false });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const header = (name: string) => message.headers?.[name]?.toString() ?? '';
      const group = header('x-dlq-consumer-group');
      if (prefixes.some((prefix) => group.startsWith(prefix)))
        letters.push({ topic, group, reason: header('x-dlq-reason'), error: header('x-dlq-error') });
    },
  });
  // Exactly from the ends read above: nothing of the topics' history, nothing missed in between.
  for (const { topic, offsets } of ends)
    for (const o of offsets) consumer.seek({ topic, partition: o.partition, offset: o.high });
  await joined;
  return { letters, stop: () => consumer.disconnect() };
}

/**
 * The catalogue with every skill handler counted: how many times each task's handler ran to
 * completion, which is what "its effects were applied" means for an agent's work.
 */
export function countingCatalogue(): { catalogue: typeof catalogue; completions: Map<string, number> } {
  const completions = new Map<string, number>();
  const counted = catalogue.map((entry) => ({
    ...entry,
    handlers: Object.fromEntries(
      Object.entries(entry.handlers).map(([capability, handler]) => [
        capability,
        async (...args: Parameters<typeof handler>) => {
          const output = await handler(...args);
          const taskId = args[1].taskId ?? '';
          completions.set(taskId, (completions.get(taskId) ?? 0) + 1);
          return output;
        },
      ]),
    ),
  }));
  return { catalogue: counted, completions };
}

/** Calls a subgraph directly as an operator, the way the gateway forwards one (no gateway needed). */
export function subgraphClient(url: string, subgraph: string) {
  return async <T>(query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResult<T>> => {
    const token = await signCallerToken({ sub: 'op-chaos', roles: ['operator'] }, SECRET, subgraph);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [CALLER_HEADER]: token },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as GraphQLResult<T>;
  };
}

/**
 * Calls `send(0)`, `send(1)`, ... at a steady `perSecond`, like clients that keep submitting
 * whatever happens to the platform, until `stop()`, which resolves once every send has settled.
 */
export function steadyLoad(perSecond: number, send: (i: number) => Promise<void>) {
  const sends: Promise<void>[] = [];
  let stopped = false;
  const began = Date.now();
  const running = (async () => {
    for (let i = 0; !stopped; i++) {
      const due = began + (i * 1000) / perSecond;
      // Pacing, not waiting for a condition: the load's schedule is the point.
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      if (!stopped) sends.push(send(i));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await running;
      await Promise.all(sends);
    },
  };
}
