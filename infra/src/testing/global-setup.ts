import { randomBytes } from 'node:crypto';
import { launcherOptions, up } from '../launcher';
import { freePorts } from '../process';
import { MissingToolError } from '../tools';
import type { ServerName } from '../servers';

/** What the global teardown needs: the servers this run started, and on which ports. */
export interface TestInfraHandle {
  started: ServerName[];
  ports: { kafkaPort: number; controllerPort: number; mongoPort: number } | null;
}

declare global {
  var __waooawInfra: TestInfraHandle | undefined;
}

const log = (msg: string) => process.stdout.write(`\n[infra] ${msg}`);

/**
 * Jest global setup. A test run never touches a platform it did not start (`npm start` in another
 * terminal, another `npm test`):
 * - it starts ephemeral Kafka and MongoDB-protocol servers of its own on free ports, unless
 *   KAFKA_BROKERS / MONGO_URL name servers to use (then nothing is started for them);
 * - it always runs in a namespace of its own (WAOOAW_NAMESPACE=test-<random>): its topics, consumer
 *   groups and databases carry it, so even on shared servers nothing of another platform is read.
 * The addresses and namespace reach the test workers through the environment. Runs once per jest
 * run even with several projects: later calls find the handle set.
 */
export default async function globalSetup(): Promise<void> {
  if (globalThis.__waooawInfra) return;
  process.env.WAOOAW_NAMESPACE = `test-${randomBytes(4).toString('hex')}`;
  if (process.env.KAFKA_BROKERS && process.env.MONGO_URL) {
    globalThis.__waooawInfra = { started: [], ports: null };
    log(`using Kafka ${process.env.KAFKA_BROKERS} and Mongo ${process.env.MONGO_URL}`);
    log(`namespace ${process.env.WAOOAW_NAMESPACE}\n`);
    return;
  }
  // A port picked free can be taken before the server binds it (another run picking at the same
  // moment): the launcher then reports the server exited during start-up; pick again once.
  for (let attempt = 1; ; attempt++) {
    const [kafkaPort, controllerPort, mongoPort] = (await freePorts(3)) as [number, number, number];
    const ports = { kafkaPort, controllerPort, mongoPort };
    try {
      const result = await up(launcherOptions({ ephemeral: true, log, ...ports }));
      globalThis.__waooawInfra = { started: result.started, ports };
      process.env.KAFKA_BROKERS = result.kafkaBrokers;
      process.env.MONGO_URL = result.mongoUrl;
      log(`Kafka ${result.kafkaBrokers} and Mongo ${result.mongoUrl} ready in ${result.readyMs} ms`);
      log(`namespace ${process.env.WAOOAW_NAMESPACE}\n`);
      return;
    } catch (err) {
      if (attempt >= 2 || err instanceof MissingToolError) throw err;
      log(`starting the test servers failed (${(err as Error).message.split('\n')[0]}); trying other ports`);
    }
  }
}
