import type { LauncherOptions, ServerStatus } from './launcher';
import { down, launcherOptions, status, up } from './launcher';
import { METRICS_PORT_OFFSET, startPlatform } from './platform';
import { MissingToolError } from './tools';

const USAGE = `usage: waooaw-infra <command> [--ephemeral]
  up       start Kafka (KRaft) on 127.0.0.1:9092 and mongo-java-server on 127.0.0.1:27017, wait until both answer
  down     stop what the launcher started
  status   show what is running
  start    up, then start every service (identity, factory ...) and stay in the foreground;
           Ctrl-C stops the services, then what it started
  --ephemeral  keep data in memory / a temp folder (default for tests); otherwise data persists in .infra/data
KAFKA_BROKERS / MONGO_URL point at existing servers instead: nothing is started for them.`;

function printStatus(statuses: ServerStatus[]) {
  for (const s of statuses) {
    const detail = [
      s.pid ? `pid ${s.pid}` : '',
      s.managed
        ? s.ephemeral
          ? 'ephemeral'
          : 'persistent'
        : s.state === 'stopped'
          ? ''
          : 'not started by this launcher',
      s.logFile ? `log ${s.logFile}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    console.log(`${s.name.padEnd(6)} ${s.state.padEnd(10)} ${s.address}${detail ? `  (${detail})` : ''}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const [command] = argv.filter((a) => !a.startsWith('--'));
  const opts: LauncherOptions = launcherOptions({
    ephemeral: argv.includes('--ephemeral'),
    log: (msg) => console.log(`[infra] ${msg}`),
  });
  switch (command) {
    case 'up': {
      const result = await up(opts);
      printStatus(result.statuses);
      console.log(`[infra] ready in ${(result.readyMs / 1000).toFixed(1)} s`);
      return 0;
    }
    case 'down': {
      const stopped = await down(opts);
      console.log(stopped.length ? `[infra] stopped ${stopped.join(', ')}` : '[infra] nothing to stop');
      return 0;
    }
    case 'status': {
      const statuses = await status(opts);
      printStatus(statuses);
      return statuses.every((s) => s.state === 'running' || s.state === 'external') ? 0 : 3;
    }
    case 'start': {
      const result = await up(opts);
      printStatus(result.statuses);
      console.log(`[infra] ready in ${(result.readyMs / 1000).toFixed(1)} s`);
      console.log(`[infra] KAFKA_BROKERS=${result.kafkaBrokers} MONGO_URL=${result.mongoUrl}`);
      if (process.env.WAOOAW_NAMESPACE)
        console.log(
          `[platform] WAOOAW_NAMESPACE=${process.env.WAOOAW_NAMESPACE}: its topics, groups and databases carry it`,
        );
      const began = Date.now();
      let platform;
      try {
        platform = await startPlatform(
          { ...process.env, KAFKA_BROKERS: result.kafkaBrokers, MONGO_URL: result.mongoUrl },
          (line) => console.log(line),
        );
      } catch (err) {
        if (result.started.length) await down(opts, result.started);
        throw err;
      }
      console.log(`[platform] ready in ${((Date.now() - began) / 1000).toFixed(1)} s:`);
      for (const s of platform.services)
        console.log(
          `[platform]   ${s.name.padEnd(14)} http://localhost:${s.port}${s.graphql ? '/graphql' : '/health/ready'}`,
        );
      const gateway = platform.services.find((s) => s.name === 'gateway');
      if (gateway) {
        console.log(
          `[platform] Apollo Sandbox: http://localhost:${gateway.port}/graphql  (the subgraphs answer only through it)`,
        );
        console.log('[platform] a token for mutations: npm run token -- --role operator --sub ops-1');
        console.log(
          `[platform] Prometheus metrics: http://localhost:<port + ${METRICS_PORT_OFFSET}>/metrics (the gateway's: ${gateway.port + METRICS_PORT_OFFSET})`,
        );
      }
      console.log('[platform] press Ctrl-C to stop');
      // Handlers stay installed while stopping: Ctrl-C reaches this process both from the terminal and
      // forwarded by tsx, and a second SIGINT without a handler would kill it before cleanup.
      // The watch keeps the process alive (signal handlers alone do not) and reports a server that died.
      let lastStates = '';
      const watch = setInterval(() => {
        status(opts).then(
          (now) => {
            const states = now.map((x) => `${x.name} ${x.state}`).join(', ');
            if (states !== lastStates && now.some((x) => x.state !== 'running' && x.state !== 'external')) {
              console.error(`[infra] attention: ${states}; see the logs in .infra/logs`);
            }
            lastStates = states;
          },
          (err: unknown) => console.error(`[infra] status check failed: ${(err as Error).message}`),
        );
      }, 5_000);
      await new Promise<void>((resolve) => {
        process.on('SIGINT', () => resolve());
        process.on('SIGTERM', () => resolve());
      });
      clearInterval(watch);
      console.log('[platform] stopping services');
      await platform.stop();
      if (result.started.length) {
        console.log('[infra] stopping');
        await down(opts, result.started);
      }
      return 0;
    }
    default:
      console.log(USAGE);
      return command ? 2 : 0;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(
      err instanceof MissingToolError ? err.message : `[infra] ${(err as Error).stack ?? String(err)}`,
    );
    process.exit(1);
  },
);
