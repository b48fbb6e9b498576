import type { BaseContext } from '@apollo/server';
import type { Connection } from 'mongoose';
import type { GraphQLRoute, HttpServer, Readiness } from './http/server';
import { createHttpServer } from './http/server';
import { shutdownTracing } from './tracing/spans';
import type { EventBus } from './kafka/bus';
import type { EventConsumer, PartitionWait } from './kafka/consumer';
import type { Logger } from './logger';
import type { PlatformMetrics } from './metrics';
import { mongoReady } from './mongo/connection';
import type { OutboxRelay } from './mongo/outbox';

/**
 * A part of a service with a lifecycle. `stage` fixes the shutdown order of docs/conventions.md:
 * the service stops taking requests, then `work` (consumers, relays, timers) drains, then
 * `messaging` (Kafka) disconnects, then HTTP closes, then `storage` (MongoDB) closes.
 */
export interface Component {
  name: string;
  stage: 'work' | 'messaging' | 'storage';
  start?(): Promise<void> | void;
  stop(): Promise<void>;
  ready(): boolean | Promise<boolean>;
  /**
   * Why the component, though ready, is not doing all its work now (a consumer waiting out an
   * outage); empty or absent when all is well. Readiness lists the reasons (see Readiness.degraded).
   */
  degraded?(): string[];
}

/** How long a part of a service may take to stop before the log names it (see Service.stop). */
const SLOW_STOP_MS = 5_000;

export const mongoComponent = (connection: Connection): Component => ({
  name: 'mongo',
  stage: 'storage',
  stop: () => connection.close(),
  ready: () => mongoReady(connection),
});

/** Builds the models' indexes (unique ones included) before the service takes requests. */
export const indexesComponent = (...models: { init(): Promise<unknown> }[]): Component => ({
  name: 'indexes',
  stage: 'storage',
  start: async () => void (await Promise.all(models.map((m) => m.init()))),
  stop: async () => undefined,
  ready: () => true,
});

/** One line a person reads in /health/ready: which partition waits, since when, on what. */
export const describeWait = (w: PartitionWait) =>
  `consumer group ${w.groupId} paused ${w.topic}[${w.partition}] at offset ${w.offset} since ${w.since} ` +
  `(${w.tries} ${w.tries === 1 ? 'try' : 'tries'}), waiting out: ${w.error}`;

/**
 * Kafka readiness: the producer is connected and no consumer has given up. A consumer waiting out a
 * transient failure (MongoDB down, say) leaves the service ready but degraded: its HTTP API may well
 * still answer (reads from a replica, another dependency than the one missing), and a readiness
 * failure would take every replica out of the load balancer at once during a shared outage, turning
 * a partial one into a total one. The storage check (mongoComponent) fails by itself when MongoDB
 * is what is gone. The degraded reasons name each paused partition and its error.
 */
export const busComponent = (bus: EventBus): Component => ({
  name: 'kafka',
  stage: 'messaging',
  start: () => bus.connect(),
  stop: () => bus.disconnect(),
  ready: () => bus.isReady(),
  degraded: () => bus.waiting().map(describeWait),
});

export const consumerComponent = (consumer: EventConsumer): Component => ({
  name: `consumer:${consumer.groupId}`,
  stage: 'work',
  start: () => consumer.start(),
  stop: () => consumer.stop(),
  ready: () => consumer.status() === 'running',
});

export const relayComponent = (relay: OutboxRelay, name = 'outbox-relay'): Component => ({
  name,
  stage: 'work',
  start: () => relay.start(),
  stop: () => relay.stop(),
  ready: () => true,
});

export interface ServiceOptions<TContext extends BaseContext> {
  name: string;
  logger: Logger;
  metrics: PlatformMetrics;
  graphql?: GraphQLRoute<TContext>;
  /** Started in this order (storage and messaging first), stopped by stage. */
  components: Component[];
}

export interface Service {
  readonly name: string;
  readonly http: HttpServer;
  /**
   * Starts the components, then listens; resolves with the base URL. With `metricsPort` (0: any free
   * port), /metrics is served there, and only there (see metricsUrl).
   */
  start(port: number, host?: string, metricsPort?: number): Promise<string>;
  /** Where /metrics is served once started with a metrics port; undefined otherwise. */
  readonly metricsUrl: string | undefined;
  stop(): Promise<void>;
  readiness(): Promise<Readiness>;
}

/** Wires components, health, metrics and GraphQL into one service with an ordered shutdown. */
export function createService<TContext extends BaseContext>(options: ServiceOptions<TContext>): Service {
  const { logger, components } = options;
  let accepting = false;

  const readiness = async (): Promise<Readiness> => {
    const checks: Record<string, boolean> = { accepting };
    const degraded: Record<string, string[]> = {};
    for (const c of components) {
      checks[c.name] = await c.ready();
      const reasons = c.degraded?.() ?? [];
      if (reasons.length > 0) degraded[c.name] = reasons;
    }
    return {
      ready: Object.values(checks).every(Boolean),
      checks,
      ...(Object.keys(degraded).length > 0 ? { degraded } : {}),
    };
  };

  const http = createHttpServer<TContext>({
    service: options.name,
    logger,
    metrics: options.metrics,
    readiness,
    ...(options.graphql ? { graphql: options.graphql } : {}),
  });

  /**
   * Runs one part's stop; one that takes longer than SLOW_STOP_MS is named in the log while it is
   * still stopping, and again when it is done: a shutdown that hangs says where.
   */
  const stopping = async (part: string, stop: () => Promise<unknown>) => {
    const started = Date.now();
    const slow = setTimeout(() => logger.warn({ part }, 'still stopping'), SLOW_STOP_MS);
    slow.unref();
    try {
      await stop();
    } finally {
      clearTimeout(slow);
      const tookMs = Date.now() - started;
      if (tookMs >= SLOW_STOP_MS) logger.warn({ part, tookMs }, 'stopped, slowly');
    }
  };

  // Components of one stage stop together: each consumer drains its own in-flight batch, and
  // waiting for them one after another would add their fetch waits up.
  const stopStage = async (stage: Component['stage']) => {
    await Promise.all(
      components
        .filter((c) => c.stage === stage)
        .map((c) =>
          stopping(c.name, () => c.stop()).catch((err: unknown) =>
            logger.error({ err, component: c.name }, 'component failed to stop cleanly'),
          ),
        ),
    );
  };

  let metricsUrl: string | undefined;
  return {
    name: options.name,
    http,
    readiness,
    get metricsUrl() {
      return metricsUrl;
    },
    async start(port, host = '0.0.0.0', metricsPort) {
      await options.graphql?.server.start();
      for (const c of components) await c.start?.();
      if (metricsPort !== undefined) metricsUrl = `${await http.listenMetrics(metricsPort, host)}/metrics`;
      const url = await http.listen(port, host);
      accepting = true;
      logger.info({ url, metrics: metricsUrl ?? 'off' }, `${options.name} is listening`);
      return url;
    },
    async stop() {
      logger.info('shutting down: no new requests');
      accepting = false;
      http.stopAccepting();
      await stopStage('work');
      await stopStage('messaging');
      await stopping('http', () => http.close());
      await stopping('graphql', async () => options.graphql?.server.stop());
      await stopStage('storage');
      logger.info('shut down cleanly');
    },
  };
}

/**
 * The body of every service's index.ts: runs `main`, stops the service on SIGTERM/SIGINT (exit 0),
 * exits 1 when start-up fails or shutdown hangs past `shutdownTimeoutMs`.
 */
export function runMain(
  logger: Logger,
  main: () => Promise<Pick<Service, 'stop'>>,
  shutdownTimeoutMs = 30_000,
): void {
  let service: Pick<Service, 'stop'> | undefined;
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, shutdownTimeoutMs).unref();
    // The spans of the shutdown itself are exported too, before the process goes.
    (service ? service.stop() : Promise.resolve()).then(shutdownTracing).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  main().then(
    (started) => {
      service = started;
    },
    (err: unknown) => {
      logger.fatal({ err }, 'failed to start');
      process.exit(1);
    },
  );
}
