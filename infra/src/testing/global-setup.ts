import { launcherOptions, up } from '../launcher';

interface InfraHandle {
  started: Awaited<ReturnType<typeof up>>['started'];
}

declare global {
  var __waooawInfra: InfraHandle | undefined;
}

/**
 * Jest global setup: makes sure a real Kafka and MongoDB-protocol server are up (ephemeral ones,
 * started here, when KAFKA_BROKERS / MONGO_URL do not name servers) and exports their addresses to
 * the test workers. Runs once per jest run even with several projects: later calls find the
 * variables set.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.KAFKA_BROKERS && process.env.MONGO_URL) return;
  const opts = launcherOptions({ ephemeral: true, log: (msg) => process.stdout.write(`\n[infra] ${msg}`) });
  const result = await up(opts);
  process.stdout.write(
    `\n[infra] Kafka ${result.kafkaBrokers} and Mongo ${result.mongoUrl} ready in ${result.readyMs} ms\n`,
  );
  process.env.KAFKA_BROKERS = result.kafkaBrokers;
  process.env.MONGO_URL = result.mongoUrl;
  globalThis.__waooawInfra = { started: result.started };
}
