import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { PlatformService, RunningPlatform } from '@waooaw/infra';
import { discoverServices, down, launcherOptions, platformAddresses, startPlatform, up } from '@waooaw/infra';
import { baseEnvSchema, parseConfig } from '@waooaw/shared';
import type { WatchedProcess } from './proc';
import { findProcesses } from './proc';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The platform the bench drives: found running, or started like `npm start` does. */
export interface BenchPlatform {
  brokers: string[];
  /**
   * WAOOAW_NAMESPACE of the bench's environment: the platform it starts gets it, and a running one
   * is taken to have it (its topics are the ones the bench reads and writes).
   */
  namespace: string;
  mongoUrl: string;
  gatewayUrl: string;
  services: PlatformService[];
  /** True when the bench started the services (and so runs them without the default agents runtime). */
  startedServices: boolean;
  /** The platform's processes and the infrastructure's, for CPU and RSS. */
  processes(): WatchedProcess[];
  stop(): Promise<void>;
}

async function ready(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

const portOf = (address: string) => Number(/:(\d+)(?:\/|$)/.exec(address)?.[1] ?? NaN);

/**
 * Kafka and MongoDB through the launcher (KAFKA_BROKERS / MONGO_URL name running ones), then the
 * services: used as they are when every one answers /health/ready, started otherwise (all of them,
 * except the default agents runtime: the bench brings its own fleet, and the default runtime's
 * instances would otherwise take a share of the work with no simulated handler time).
 */
export async function ensurePlatform(options: {
  portOffset: number;
  log: (line: string) => void;
  logFile: string;
}): Promise<BenchPlatform> {
  const { log } = options;
  const { WAOOAW_NAMESPACE: namespace } = parseConfig(
    baseEnvSchema.pick({ WAOOAW_NAMESPACE: true }),
    process.env,
  );
  // Servers the bench starts itself are ephemeral (memory and a temporary folder, removed when it
  // stops them): a benchmark's hundreds of thousands of tasks and messages have no business in the
  // persistent data `npm start` keeps. Running servers are used as they are.
  const launcher = launcherOptions({ ephemeral: true, log: (msg) => log(`[infra] ${msg}`) });
  const infra = await up(launcher);
  const brokers = infra.kafkaBrokers.split(',');
  const { services: all } = platformAddresses(discoverServices(), options.portOffset);
  const wanted = all.filter((s) => s.name !== 'agents-runtime');
  const gateway = wanted.find((s) => s.name === 'gateway');
  if (!gateway) throw new Error('no gateway workspace found: is this the WAOOAW repository?');
  const answering = await Promise.all(wanted.map((s) => ready(s.port)));
  let running: RunningPlatform | undefined;
  if (answering.every(Boolean)) {
    log(`[platform] using the services already running (gateway on ${gateway.port})`);
  } else if (answering.some(Boolean)) {
    const up = wanted.filter((_, i) => answering[i]).map((s) => `${s.name}:${s.port}`);
    const down = wanted.filter((_, i) => !answering[i]).map((s) => `${s.name}:${s.port}`);
    throw new Error(
      `part of the platform is running (${up.join(', ')}) but not ${down.join(', ')}: stop it or start the rest, then run the bench again`,
    );
  } else {
    mkdirSync(path.dirname(options.logFile), { recursive: true });
    const out = createWriteStream(options.logFile, { flags: 'a' });
    log(
      `[platform] starting the services (their output goes to ${path.relative(process.cwd(), options.logFile)})`,
    );
    const began = Date.now();
    running = await startPlatform(
      {
        ...process.env,
        KAFKA_BROKERS: infra.kafkaBrokers,
        MONGO_URL: infra.mongoUrl,
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      },
      (line) => out.write(`${line}\n`),
      180_000,
      {
        portOffset: options.portOffset,
        exclude: ['agents-runtime'],
        // The bench is one client sending hundreds of requests a second; the production limits are
        // per caller and would turn the benchmark into a test of the rate limiter.
        serviceEnv: { gateway: { RATE_LIMIT_PER_MINUTE: '10000000', RATE_LIMIT_BURST: '100000' } },
        // BENCH_PROFILE=orchestration,discovery writes V8 CPU profiles of those services when they stop.
        nodeArgs: Object.fromEntries(
          (process.env.BENCH_PROFILE ?? '')
            .split(',')
            .filter(Boolean)
            .map((name) => [
              name,
              ['--cpu-prof', `--cpu-prof-dir=${path.resolve(path.dirname(options.logFile), 'profiles')}`],
            ]),
        ),
      },
    );
    log(`[platform] ready in ${((Date.now() - began) / 1000).toFixed(1)} s`);
  }
  const kafkaPort = portOf(brokers[0] ?? '');
  const mongoPort = portOf(infra.mongoUrl);
  return {
    brokers,
    namespace,
    mongoUrl: infra.mongoUrl,
    gatewayUrl: `http://127.0.0.1:${gateway.port}/graphql`,
    services: wanted,
    startedServices: running !== undefined,
    processes() {
      const found: WatchedProcess[] = [];
      const pids = running?.pids() ?? {};
      for (const s of wanted) {
        const pid = pids[s.name] ?? findProcesses([s.entry], s.port)[0];
        if (pid) found.push({ name: s.name, pid });
      }
      const kafka = findProcesses(['kafka.Kafka', `kafka-${kafkaPort}`])[0];
      if (kafka) found.push({ name: 'kafka', pid: kafka });
      const mongo = findProcesses(['MongoServerMain', `--port ${mongoPort}`])[0];
      if (mongo) found.push({ name: 'mongo', pid: mongo });
      return found;
    },
    async stop() {
      if (running) {
        log('[platform] stopping the services the bench started');
        await running.stop();
      }
      if (infra.started.length) {
        log(`[infra] stopping ${infra.started.join(', ')}`);
        await down(launcher, infra.started);
      }
    },
  };
}
