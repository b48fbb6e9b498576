import { down, launcherOptions } from '../launcher';

/** Stops only what the global setup started; servers that were already running stay up. */
export default async function globalTeardown(): Promise<void> {
  const handle = globalThis.__waooawInfra;
  if (!handle || handle.started.length === 0) return;
  globalThis.__waooawInfra = undefined;
  await down(launcherOptions({ ephemeral: true }), handle.started);
}
