import { parseArgs } from 'node:util';
import { SUBGRAPH_PROCESSES } from '@waooaw/shared';

/** One fault the run injects, in order. */
export type Fault =
  | { kind: 'kill'; service: string }
  | { kind: 'kill-kafka' }
  | { kind: 'kill-mongo' }
  | { kind: 'freeze-mongo'; seconds: number }
  | { kind: 'rolling'; service: string };

export const faultName = (f: Fault): string =>
  f.kind === 'kill'
    ? `kill -9 ${f.service}`
    : f.kind === 'kill-kafka'
      ? 'kill -9 kafka'
      : f.kind === 'kill-mongo'
        ? 'kill -9 mongodb'
        : f.kind === 'freeze-mongo'
          ? `mongodb frozen ${f.seconds} s`
          : `rolling restart ${f.service}`;

export interface ChaosOptions {
  quick: boolean;
  /** Offered tasks/s for the whole run. */
  rate: number;
  subscribers: number;
  /** Load with no fault before the first injection, s (the baseline window). */
  baselineS: number;
  /** Quiet time after a fault has recovered, before the next, s. */
  settleS: number;
  /** How long a fault may take to recover before the run moves on (and reports it unrecovered), s. */
  recoverTimeoutS: number;
  /** Wait for every accepted task to finish after the load, s. */
  drainS: number;
  /** Seconds between business actions (a trial start, a ticket, a conversion). */
  businessEveryS: number;
  faults: Fault[];
  portOffset: number;
  kafkaPort: number;
  mongoPort: number;
  outDir: string;
  help: boolean;
}

export const USAGE = `usage: npm run chaos -- [options]
  --quick            a short run (lower rate, fewer and shorter faults: ~3-4 minutes)
  --rate N           offered tasks/s (default 100; --quick 20)
  --subscribers N    live activityFeed subscribers that resume with their cursor (default 50; --quick 10)
  --freeze SEC       how long MongoDB stays frozen (default 20; --quick 8)
  --only F[,F]       only the faults whose name contains one of these (e.g. kafka,rolling)
  --port-offset N    platform ports moved by N (default 300)
  --kafka-port N     the run's own Kafka broker (default 19092; its controller N+1)
  --mongo-port N     the run's own MongoDB-protocol server (default 37017)
  --out DIR          where results go (default bench/results)
The run starts its own Kafka, MongoDB and services on these ports and stops them at the end.`;

/** The services killed one after another (each restarted at once), then the runtime. */
export const KILLED_SERVICES: string[] = [...SUBGRAPH_PROCESSES, 'gateway', 'agents-runtime'];

/** The fault sequence: the full one, or the quick one (one of each kind, on the task path). */
export function faultPlan(quick: boolean, freezeS: number): Fault[] {
  if (quick)
    return [
      { kind: 'kill', service: 'orchestration' },
      { kind: 'kill', service: 'gateway' },
      { kind: 'kill-kafka' },
      { kind: 'kill-mongo' },
      { kind: 'freeze-mongo', seconds: freezeS },
      { kind: 'rolling', service: 'orchestration' },
    ];
  return [
    ...KILLED_SERVICES.map((service): Fault => ({ kind: 'kill', service })),
    { kind: 'kill-kafka' },
    { kind: 'kill-mongo' },
    { kind: 'freeze-mongo', seconds: freezeS },
    { kind: 'rolling', service: 'orchestration' },
    { kind: 'rolling', service: 'discovery' },
  ];
}

const int = (name: string, text: string | undefined, fallback: number, min: number, max: number) => {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new Error(`--${name} must be a whole number from ${min} to ${max}, not "${text}"`);
  return value;
};

/** Parses the command line; throws an Error with a message for the user. */
export function parseChaosArgs(argv: readonly string[]): ChaosOptions {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      rate: { type: 'string' },
      subscribers: { type: 'string' },
      freeze: { type: 'string' },
      only: { type: 'string' },
      'port-offset': { type: 'string' },
      'kafka-port': { type: 'string' },
      'mongo-port': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}"`);
  const quick = values.quick ?? false;
  let faults = faultPlan(quick, int('freeze', values.freeze, quick ? 8 : 20, 1, 600));
  if (values.only) {
    const wanted = values.only
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
    faults = faults.filter((f) => wanted.some((w) => faultName(f).includes(w)));
    if (faults.length === 0) throw new Error(`--only ${values.only} names none of the faults`);
  }
  return {
    quick,
    rate: int('rate', values.rate, quick ? 20 : 100, 1, 10_000),
    subscribers: int('subscribers', values.subscribers, quick ? 10 : 50, 0, 1000),
    baselineS: quick ? 10 : 20,
    settleS: quick ? 3 : 8,
    recoverTimeoutS: quick ? 90 : 180,
    drainS: quick ? 60 : 180,
    businessEveryS: quick ? 2 : 1,
    faults,
    portOffset: int('port-offset', values['port-offset'], 300, 1, 50_000),
    kafkaPort: int('kafka-port', values['kafka-port'], 19092, 1024, 65_000),
    mongoPort: int('mongo-port', values['mongo-port'], 37017, 1024, 65_535),
    outDir: values.out ?? 'bench/results',
    help: values.help ?? false,
  };
}
