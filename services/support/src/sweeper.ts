import type { Component, Logger } from '@waooaw/shared';

export interface SweepResult {
  breached: number;
  closed: number;
}

/** Runs the SLA sweep on a timer, one pass at a time (and once at start, so deadlines that passed while the service was down are acted on at once). */
export function sweeperComponent(deps: {
  sweep: () => Promise<SweepResult>;
  logger: Logger;
  intervalMs: number;
}): Component {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const pass = () => {
    running ??= deps
      .sweep()
      .then((result) => {
        if (result.breached + result.closed > 0) deps.logger.info(result, 'support sweep');
      })
      .catch((err: unknown) => deps.logger.error({ err }, 'support sweep failed; retrying next tick'))
      .finally(() => {
        running = undefined;
      });
  };
  return {
    name: 'sla-sweeper',
    stage: 'work',
    start() {
      pass();
      timer = setInterval(pass, deps.intervalMs);
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
    ready: () => timer !== undefined,
  };
}
