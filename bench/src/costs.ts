import mongoose from 'mongoose';
import { samplesByLabel } from './prom-text';
import type { ProcessFigure } from './report';

/**
 * What a task costs the platform, in counts that do not depend on how fast or how busy the machine
 * is (issue 20): CPU time of every platform process, MongoDB commands and Kafka requests, each over
 * a scenario's window divided by the tasks it completed. CPU milliseconds move with the machine's
 * speed and its neighbours; commands and requests do not, so they are what two versions of the code
 * are compared by on a noisy machine.
 */
export interface TaskCosts {
  /** CPU ms of every platform process (services, runtimes, Kafka, MongoDB; not the bench) per completed task. */
  platformCpuMsPerTask: number | null;
  /** Commands the MongoDB server received per completed task (housekeeping such as `hello` left out). */
  mongoCommandsPerTask: number | null;
  /**
   * Queries the MongoDB server answered by reading a whole collection, per completed task: their cost
   * grows with the data, so anything above zero on the task path is a missing index.
   */
  mongoScansPerTask: number | null;
  /** Requests the platform's processes sent to Kafka per completed task: Produce, Fetch, and all of them. */
  kafkaRequestsPerTask: { produce: number; fetch: number; all: number } | null;
  /** The increases the figures were divided from, and which processes' counters could not be read. */
  counts: {
    mongoCommands: Record<string, number> | null;
    /** By command and collection, e.g. `update waooaw_orchestration.tasks`. */
    mongoByCollection: Record<string, number> | null;
    /** Whole-collection scans by collection, e.g. `waooaw_orchestration.tasks`. */
    mongoScans: Record<string, number> | null;
    kafkaRequests: Record<string, number> | null;
    /** The same by process: which hop of a task's path asks Kafka most. */
    kafkaRequestsByProcess: Record<string, Record<string, number>>;
    unreachable: string[];
  };
}

/** Counters read at one moment: Kafka requests by API (summed over processes) and MongoDB commands by name. */
export interface CostCounters {
  kafkaRequests: Record<string, number> | null;
  /** Each reachable process's own Kafka requests by API. */
  kafkaRequestsByProcess: Record<string, Record<string, number>>;
  /** Processes whose /metrics did not answer (their requests are missing from the sum). */
  unreachable: string[];
  mongoCommands: Record<string, number> | null;
  mongoByCollection: Record<string, number> | null;
  mongoScans: Record<string, number> | null;
}

/** A process whose Prometheus endpoint counts its Kafka requests (`waooaw_kafka_requests_total`). */
export interface MetricsTarget {
  name: string;
  metricsPort: number;
}

export const KAFKA_REQUESTS_METRIC = 'waooaw_kafka_requests_total';

/**
 * Commands every MongoDB driver sends whatever the work (server monitoring, sessions, the bench's own
 * serverStatus): they measure connections and time, not tasks.
 */
const MONGO_HOUSEKEEPING = new Set([
  'hello',
  'ismaster',
  'ping',
  'serverstatus',
  'buildinfo',
  'endsessions',
  'saslstart',
  'saslcontinue',
  'getlasterror',
  'whatsmyuri',
  'hostinfo',
  'getparameter',
]);

const add = (into: Record<string, number>, from: Record<string, number>) => {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
};

/** Reads the counters now: every target's /metrics, and the MongoDB server's serverStatus. */
export async function readCostCounters(
  targets: readonly MetricsTarget[],
  mongoUrl: string,
): Promise<CostCounters> {
  const kafkaRequests: Record<string, number> = {};
  const kafkaRequestsByProcess: Record<string, Record<string, number>> = {};
  const unreachable: string[] = [];
  await Promise.all(
    targets.map(async (t) => {
      try {
        const res = await fetch(`http://127.0.0.1:${t.metricsPort}/metrics`, {
          signal: AbortSignal.timeout(5000),
        });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const own = samplesByLabel(await res.text(), KAFKA_REQUESTS_METRIC, 'api');
        kafkaRequestsByProcess[t.name] = own;
        add(kafkaRequests, own);
      } catch {
        unreachable.push(t.name);
      }
    }),
  );
  return {
    kafkaRequests: unreachable.length < targets.length ? kafkaRequests : null,
    kafkaRequestsByProcess,
    unreachable: unreachable.sort(),
    ...(await mongoCommandCounts(mongoUrl)),
  };
}

/**
 * The MongoDB server's commands by name since it started: WAOOAW's MongoDB-protocol server answers
 * them in serverStatus (`waooaw.commands`, infra/java/MongoServerMain.java). Another server (a real
 * mongod) has no such field: null, and the figure is left out rather than estimated.
 */
async function mongoCommandCounts(
  url: string,
): Promise<Pick<CostCounters, 'mongoCommands' | 'mongoByCollection' | 'mongoScans'>> {
  const connection = mongoose.createConnection(url, { serverSelectionTimeoutMS: 5000, maxPoolSize: 1 });
  const numbers = (counts: Record<string, unknown> | undefined) =>
    counts ? Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, Number(v)])) : null;
  try {
    await connection.asPromise();
    const status = (await connection.db!.admin().command({ serverStatus: 1 })) as {
      waooaw?: {
        commands?: Record<string, unknown>;
        byCollection?: Record<string, unknown>;
        scans?: Record<string, unknown>;
      };
    };
    return {
      mongoCommands: numbers(status.waooaw?.commands),
      mongoByCollection: numbers(status.waooaw?.byCollection),
      mongoScans: numbers(status.waooaw?.scans),
    };
  } catch {
    return { mongoCommands: null, mongoByCollection: null, mongoScans: null };
  } finally {
    await connection.close().catch(() => undefined);
  }
}

const increase = (
  before: Record<string, number> | null,
  after: Record<string, number> | null,
): Record<string, number> | null => {
  if (!before || !after) return null;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
};

// Two decimals: a fraction of a request per task is the difference batching makes.
const perTask = (n: number, tasks: number) => (tasks > 0 ? Math.round((n / tasks) * 100) / 100 : null);

/**
 * The costs of a window: CPU from the process figures (every one but the bench itself), commands and
 * requests from the counters' increase. A process restarted inside the window (the failures
 * scenario) starts its counters again; what it did before the restart is missing from the sum.
 */
export function taskCosts(
  before: CostCounters,
  after: CostCounters,
  processes: readonly ProcessFigure[],
  completed: number,
): TaskCosts {
  const platform = processes.filter((p) => p.name !== 'bench');
  const cpuKnown = platform.filter((p) => p.cpuMs !== null);
  const cpuMs = cpuKnown.reduce((sum, p) => sum + p.cpuMs!, 0);
  const mongo = increase(before.mongoCommands, after.mongoCommands);
  const kafka = increase(before.kafkaRequests, after.kafkaRequests);
  const mongoTotal = mongo
    ? Object.entries(mongo).reduce((sum, [name, n]) => (MONGO_HOUSEKEEPING.has(name) ? sum : sum + n), 0)
    : null;
  const kafkaAll = kafka ? Object.values(kafka).reduce((a, b) => a + b, 0) : null;
  const scans = increase(before.mongoScans, after.mongoScans);
  return {
    platformCpuMsPerTask: cpuKnown.length > 0 ? perTask(cpuMs, completed) : null,
    mongoCommandsPerTask: mongoTotal === null ? null : perTask(mongoTotal, completed),
    mongoScansPerTask: scans
      ? perTask(
          Object.values(scans).reduce((a, b) => a + b, 0),
          completed,
        )
      : null,
    kafkaRequestsPerTask:
      kafka && kafkaAll !== null && completed > 0
        ? {
            produce: perTask(kafka.Produce ?? 0, completed)!,
            fetch: perTask(kafka.Fetch ?? 0, completed)!,
            all: perTask(kafkaAll, completed)!,
          }
        : null,
    counts: {
      mongoCommands: mongo,
      mongoByCollection: increase(before.mongoByCollection, after.mongoByCollection),
      mongoScans: scans,
      kafkaRequests: kafka,
      // Only processes read at both ends: one restarted or unreachable in between would count wrong.
      kafkaRequestsByProcess: Object.fromEntries(
        Object.entries(after.kafkaRequestsByProcess).flatMap(([name, counts]) => {
          const from = before.kafkaRequestsByProcess[name];
          const grew = from ? increase(from, counts) : null;
          return grew ? [[name, grew]] : [];
        }),
      ),
      unreachable: [...new Set([...before.unreachable, ...after.unreachable])].sort(),
    },
  };
}
