import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './platform';

/** A run's id: when it started, to the second (UTC), and a random suffix, e.g. `20250131120000-a1b2`. */
export const runIdOf = (startedAt: Date) =>
  `${startedAt.toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${randomBytes(2).toString('hex')}`;

/**
 * What a run starts, stopped in reverse order by `stopAll` (at the end of the run, or when it is
 * interrupted). A clean-up that fails is logged and the others still run; each runs once.
 */
export function cleanupStack(tag: string, log: (line: string) => void) {
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const c of cleanups.reverse())
      await c().catch((err: unknown) => log(`[${tag}] cleanup: ${(err as Error).message}`));
    cleanups.length = 0;
  };
  return { cleanups, stopAll };
}

/**
 * The start of a bench or chaos run: its id and start time, its output directory (created), and its
 * clean-ups, which Ctrl-C or SIGTERM runs before exiting with 130 (a second Ctrl-C exits at once);
 * `interrupted()` tells the run's loops to stop early meanwhile.
 */
export function startRun(options: { outDir: string; tag: string; log: (line: string) => void }) {
  const startedAt = new Date();
  const runId = runIdOf(startedAt);
  const outDir = path.resolve(REPO_ROOT, options.outDir);
  mkdirSync(outDir, { recursive: true });
  const { cleanups, stopAll } = cleanupStack(options.tag, options.log);
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    options.log(
      `\n[${options.tag}] interrupted: stopping what the run started (Ctrl-C again to leave at once)`,
    );
    void stopAll().then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { startedAt, runId, outDir, cleanups, stopAll, interrupted: () => interrupted };
}
