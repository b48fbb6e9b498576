import type { Logger } from '../logger';
import type { Component } from '../service';

export interface PeriodicOptions {
  /** What a pass does, for the log when one fails ('registry sweep'). */
  what: string;
  intervalMs: number;
  run: () => Promise<unknown>;
  logger: Logger;
  /**
   * Runs a pass at start too, not only after the first interval: for work that was due while the
   * service was down (deadlines passed, conversions a crash interrupted).
   */
  runAtStart?: boolean;
}

export interface Periodic {
  start(): void;
  /** Stops the timer and waits for the pass in flight, so nothing runs once the service stopped. */
  stop(): Promise<void>;
  /** Whether it was started (it stays so once stopped, as the service's readiness expects). */
  started(): boolean;
}

/**
 * Runs `run` on a timer, one pass at a time: a pass still running when the next is due is not
 * doubled up (the next tick starts the one after it). A failed pass is logged, not thrown: the next
 * tick tries again, and a timer has nobody to throw to.
 */
export function periodic(options: PeriodicOptions): Periodic {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const pass = () => {
    running ??= options
      .run()
      .then(() => undefined)
      .catch((err: unknown) => options.logger.error({ err }, `${options.what} failed; retrying next tick`))
      .finally(() => {
        running = undefined;
      });
  };
  return {
    start() {
      if (options.runAtStart) pass();
      timer = setInterval(pass, options.intervalMs);
      // The service's HTTP server keeps the process alive; a housekeeping timer alone must not.
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
    started: () => timer !== undefined,
  };
}

/** A periodic task as a service component: started with the service's work, drained when it stops. */
export function periodicComponent(name: string, options: PeriodicOptions): Component {
  const loop = periodic(options);
  return {
    name,
    stage: 'work',
    start: () => loop.start(),
    stop: () => loop.stop(),
    ready: () => loop.started(),
  };
}
