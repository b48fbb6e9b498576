import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gatewayClient, operatorToken } from '../graphql';
import { createBenchKafka } from '../kafka';
import { ensurePlatform, REPO_ROOT } from '../platform';
import type { ExampleEnv } from './common';
import { runEtl } from './etl';
import { runFaultTolerant } from './fault-tolerant';
import { runMonteCarlo } from './monte-carlo';

const EXAMPLES = ['etl', 'monte-carlo', 'fault-tolerant'] as const;

const USAGE = `usage: npm run example -- <${EXAMPLES.join('|')}> [options]
  etl             five-stage pipeline (ingest -> validate -> transform -> aggregate -> export) as a workflow
                  over 12 agents: --records N (default 22442), --shards N (default 12)
  monte-carlo     distributed pi estimate over premium/standard/budget tiers, weighted balancing:
                  --tasks N (default 300), --samples N per task (default 100000), --rate N tasks/s (default 50)
  fault-tolerant  9 replicas (primary/secondary/backup) serve requests while the 3 primaries are killed
                  and later restored: --requests N (default 240), --rate N requests/s (default 12)
  --port-offset N platform ports moved by N (or BENCH_PORT_OFFSET)
The platform is used when it runs, started (like the bench) otherwise.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      records: { type: 'string' },
      shards: { type: 'string' },
      tasks: { type: 'string' },
      samples: { type: 'string' },
      rate: { type: 'string' },
      requests: { type: 'string' },
      'port-offset': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const name = positionals[0];
  if (values.help || !name) {
    console.log(USAGE);
    return name || values.help ? 0 : 2;
  }
  if (!(EXAMPLES as readonly string[]).includes(name)) {
    console.error(`unknown example "${name}"\n${USAGE}`);
    return 2;
  }
  const int = (text: string | undefined, label: string): number | undefined => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${label} must be a positive number`);
    return n;
  };
  const runId = `ex-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
  const log = (line: string) => console.log(line);
  const platform = await ensurePlatform({
    portOffset: int(values['port-offset'] ?? process.env.BENCH_PORT_OFFSET, 'port-offset') ?? 0,
    log,
    logFile: path.join(REPO_ROOT, 'bench/results', `example-${runId}.log`),
  });
  const kafka = await createBenchKafka(platform, runId);
  try {
    const env: ExampleEnv = {
      brokers: platform.brokers,
      namespace: platform.namespace,
      operator: gatewayClient(platform.gatewayUrl, await operatorToken()),
      kafka,
      runId,
      log,
    };
    if (name === 'etl')
      await runEtl(env, { records: int(values.records, 'records'), shards: int(values.shards, 'shards') });
    else if (name === 'monte-carlo')
      await runMonteCarlo(env, {
        tasks: int(values.tasks, 'tasks'),
        samplesPerTask: int(values.samples, 'samples'),
        ratePerS: int(values.rate, 'rate'),
      });
    else
      await runFaultTolerant(env, {
        requests: int(values.requests, 'requests'),
        ratePerS: int(values.rate, 'rate'),
      });
    return 0;
  } finally {
    await kafka.close();
    await platform.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[example] ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
