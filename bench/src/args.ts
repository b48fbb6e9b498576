import { parseArgs } from 'node:util';

export const SCENARIOS = ['steady', 'max', 'burst', 'failures', 'ramp', 'browse', 'live'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
/**
 * What runs when no scenario is named: all but `live`, whose ten thousand sockets need a raised
 * open-files limit and a machine of their own; it runs when named (`--scenario live`).
 */
export const DEFAULT_SCENARIOS: readonly ScenarioName[] = SCENARIOS.filter((s) => s !== 'live');

export interface BenchOptions {
  scenarios: ScenarioName[];
  quick: boolean;
  /** Offered phase of steady, failures and browse, in s (ramp holds each step duration/6, at least 3 s). */
  durationS: number;
  /** Offered tasks/s of steady and failures; the ramp climbs past it. */
  rate: number;
  /** Tasks in flight at most in the max scenario. */
  window: number;
  /** Offered phase of the max scenario, in s. */
  maxDurationS: number;
  /** Run the plain-queue baseline (BullMQ on REDIS_URL) beside steady and max. */
  baseline: boolean;
  /** Agent instances in the fleet (20% premium, 50% standard, 30% budget). */
  agents: number;
  /** Share of tasks submitted through the gateway's submitTask mutation (the rest over Kafka). */
  graphqlShare: number;
  burstCount: number;
  burstSize: number;
  /** Concurrent clients of the browse scenario. */
  browseConcurrency: number;
  /** graphql-ws clients of the live scenario, each a caller of its own. */
  liveClients: number;
  /** Offered tasks/s while the live scenario's clients listen (`--rate` when given, else 100). */
  liveRate: number;
  /** Unmeasured load at half the rate before the scenarios, in s (0: none). */
  warmupS: number;
  /** How long to wait after a scenario for tasks to reach a final status before counting them lost. */
  drainS: number;
  /** Measure the raw kafkajs ceiling too. */
  ceiling: boolean;
  /**
   * Every process the bench starts exports its spans (OTLP/HTTP) to a receiver in the bench, which
   * counts them: what tracing costs per task, against a run without it.
   */
  tracing: boolean;
  /** Added to every platform port (a second platform beside the one `npm start` runs). */
  portOffset: number;
  outDir: string;
  help: boolean;
}

export const USAGE = `usage: npm run bench -- [options]
  --scenario S[,S]   steady, max, burst, failures, ramp, browse, live (default: all but live, in that
                     order)
  --duration SEC     offered phase of steady, failures, browse and live (default 60; --quick 15)
  --rate N           offered tasks/s of steady and failures (default 250; the ramp climbs past it;
                     live 100)
  --window N         tasks in flight at most in max, offered as fast as they settle (default 1000)
  --max-duration SEC offered phase of max (default 30; --quick 10)
  --no-baseline      skip the plain-queue baseline (BullMQ on REDIS_URL, default the local Redis)
                     that steady and max otherwise run beside the platform
  --quick            short run of each scenario (the default set in under 3 minutes)
  --agents N         fleet size (default 120: 20% premium, 50% standard, 30% budget)
  --graphql-share F  share of tasks submitted through the gateway mutation (default 0.05)
  --bursts N         bursts of the burst scenario (default 3; --quick 1)
  --burst-size N     tasks per burst (default 3000; --quick 2000)
  --concurrency N    concurrent clients of browse (default 16)
  --clients N        graphql-ws clients of live, one caller each (default 10000; --quick 300);
                     needs \`ulimit -n\` above N + 1000
  --warmup SEC       unmeasured load at half the rate before the scenarios (default 20; --quick 10; 0: none)
  --drain SEC        wait for stragglers after each scenario before counting them lost (default 60)
  --no-ceiling       skip the raw kafkajs ceiling measurement
  --tracing          every process the bench starts exports its spans (OpenTelemetry, OTLP/HTTP) to a
                     receiver in the bench that counts them; compare CPU per task with a run without
  --port-offset N    platform ports moved by N (or BENCH_PORT_OFFSET), to run beside \`npm start\`
  --out DIR          where results go (default bench/results)
Infrastructure: KAFKA_BROKERS / MONGO_URL point at running servers; otherwise the launcher starts them.`;

const number = (name: string, text: string | undefined, fallback: number, min: number, max: number) => {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max)
    throw new Error(`--${name} must be a number from ${min} to ${max}, not "${text}"`);
  return value;
};

const integer = (name: string, text: string | undefined, fallback: number, min: number, max: number) => {
  const value = number(name, text, fallback, min, max);
  if (!Number.isInteger(value)) throw new Error(`--${name} must be a whole number, not "${text}"`);
  return value;
};

/** Parses the command line (and BENCH_PORT_OFFSET); throws an Error with a message for the user. */
export function parseBenchArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): BenchOptions {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      scenario: { type: 'string', multiple: true },
      duration: { type: 'string' },
      rate: { type: 'string' },
      window: { type: 'string' },
      'max-duration': { type: 'string' },
      'no-baseline': { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      agents: { type: 'string' },
      'graphql-share': { type: 'string' },
      bursts: { type: 'string' },
      'burst-size': { type: 'string' },
      concurrency: { type: 'string' },
      clients: { type: 'string' },
      drain: { type: 'string' },
      warmup: { type: 'string' },
      'no-ceiling': { type: 'boolean', default: false },
      tracing: { type: 'boolean', default: false },
      'port-offset': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}"`);
  const named = (values.scenario ?? []).flatMap((s) => s.split(',')).map((s) => s.trim().toLowerCase());
  const unknown = named.filter((s) => s && !(SCENARIOS as readonly string[]).includes(s));
  if (unknown.length > 0)
    throw new Error(`unknown scenario ${unknown.join(', ')} (choose from ${SCENARIOS.join(', ')})`);
  // Always in the documented order, each once, whatever order they were named in.
  const scenarios = named.length ? SCENARIOS.filter((s) => named.includes(s)) : [...DEFAULT_SCENARIOS];
  const quick = values.quick ?? false;
  return {
    scenarios,
    quick,
    durationS: number('duration', values.duration, quick ? 15 : 60, 1, 3600),
    rate: number('rate', values.rate, 250, 1, 100_000),
    window: integer('window', values.window, 1000, 1, 100_000),
    maxDurationS: number('max-duration', values['max-duration'], quick ? 10 : 30, 1, 3600),
    baseline: !(values['no-baseline'] ?? false),
    agents: integer('agents', values.agents, 120, 10, 10_000),
    graphqlShare: number('graphql-share', values['graphql-share'], 0.05, 0, 1),
    burstCount: integer('bursts', values.bursts, quick ? 1 : 3, 1, 100),
    burstSize: integer('burst-size', values['burst-size'], quick ? 2000 : 3000, 1, 1_000_000),
    browseConcurrency: integer('concurrency', values.concurrency, 16, 1, 1000),
    liveClients: integer('clients', values.clients, quick ? 300 : 10_000, 1, 100_000),
    // The load for live updates is 100 tasks/s; an explicit --rate still wins.
    liveRate: number('rate', values.rate, 100, 1, 100_000),
    warmupS: number('warmup', values.warmup, quick ? 10 : 20, 0, 3600),
    drainS: number('drain', values.drain, 60, 1, 3600),
    ceiling: !(values['no-ceiling'] ?? false),
    tracing: values.tracing ?? false,
    portOffset: integer('port-offset', values['port-offset'] ?? env.BENCH_PORT_OFFSET, 0, 0, 50_000),
    outDir: values.out ?? 'bench/results',
    help: values.help ?? false,
  };
}
