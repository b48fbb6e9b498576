import type { Component, Logger } from '@waooaw/shared';
import type { InstanceRegistry } from './registry';

/**
 * Runs the registry's sweep on a timer: TTL expiry is enforced here, in code, rather than by a
 * MongoDB TTL index (docs/architecture.md: expiry must not be relied on). One pass at a time.
 */
export function sweeperComponent(deps: {
  registry: InstanceRegistry;
  logger: Logger;
  intervalMs: number;
  removeAfterMs: number;
  retentionMs: number;
}): Component {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const pass = () => {
    running ??= deps.registry
      .sweep({ removeAfterMs: deps.removeAfterMs, retentionMs: deps.retentionMs })
      .catch((err: unknown) => deps.logger.error({ err }, 'registry sweep failed; retrying next tick'))
      .finally(() => {
        running = undefined;
      });
  };
  return {
    name: 'sweeper',
    stage: 'work',
    start() {
      timer = setInterval(pass, deps.intervalMs);
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
    ready: () => timer !== undefined,
  };
}
