import { down, launcherOptions } from '../launcher';

/**
 * Stops only what this run's global setup started, on the ports it started them on; servers that
 * were named by KAFKA_BROKERS / MONGO_URL, and any other run's or `npm start`'s, stay up.
 */
export default async function globalTeardown(): Promise<void> {
  const handle = globalThis.__waooawInfra;
  globalThis.__waooawInfra = undefined;
  if (!handle?.ports || handle.started.length === 0) return;
  await down(launcherOptions({ ephemeral: true, ...handle.ports }), handle.started);
}
