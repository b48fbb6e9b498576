import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BaseContext } from '@apollo/server';
import type { ApolloServer } from '@apollo/server';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import type { DocumentNode } from 'graphql';
import { parse } from 'graphql';
import type { Connection } from 'mongoose';
import { createSubgraphServer } from '../graphql/subgraph';
import type { GraphQLRoute } from '../http/server';
import type { EventBus } from '../kafka/bus';
import type { ConsumerOptions, EventConsumer } from '../kafka/consumer';
import type { Logger } from '../logger';
import type { PlatformMetrics } from '../metrics';
import type { OutboxRelay, OutboxRelayOptions } from '../mongo/outbox';
import { createOutboxRelay } from '../mongo/outbox';
import { outboxBacklog } from './outbox-backlog';
import type { Component, Service } from '../service';
import {
  busComponent,
  consumerComponent,
  createService,
  indexesComponent,
  mongoComponent,
  relayComponent,
} from '../service';

/*
 * The wiring every subgraph service (identity, factory, discovery, orchestration, marketplace,
 * support) shares: its SDL, its outbox relay, its consumer groups and the components around its own
 * parts. A service's server.ts builds its models and domain objects itself and hands them to
 * subgraphWiring's service(); what is here is only what would otherwise be written six times alike.
 */

/** The configuration the shared wiring reads; each service's config has it among its own. */
export interface SubgraphConfig {
  /** production hides stack traces, introspection and the landing page (see createSubgraphServer). */
  NODE_ENV: string;
}

/**
 * What every subgraph's createServer is given: by bootService in production (see ServiceDeps), by a
 * test harness (see startTestService) in tests. A service's Deps extends it with its own.
 */
export interface SubgraphDeps<TConfig extends SubgraphConfig = SubgraphConfig> {
  config: TConfig;
  logger: Logger;
  metrics: PlatformMetrics;
  /** The connection to the service's own database. */
  connection: Connection;
  bus: EventBus;
  /** Outbox polling interval (tests shorten it). */
  outboxIntervalMs?: number;
  /** Prefix of the consumer group ids (tests run several instances side by side). */
  consumerGroupPrefix?: string;
  /**
   * Where new groups of the consumers that project other services' events start: the beginning
   * (default, nothing is missed) or the end. Tests that share one broker with other tests start at
   * the end so others' history stays out. Consumers of commands, results and inboxes ignore it.
   */
  fromBeginning?: boolean;
}

/** The subgraph's SDL, schemas/<name>.graphql (the gateway composes the same files). */
export function subgraphSchema(name: string): DocumentNode {
  // shared/src/service and shared/dist/service are both three levels below the repository root.
  return parse(readFileSync(path.resolve(__dirname, '../../../schemas', `${name}.graphql`), 'utf8'));
}

export interface SubgraphConsumerOptions extends Omit<ConsumerOptions, 'groupId' | 'fromBeginning'> {
  /** The group's name, without the prefix (see SubgraphWiring.group). */
  group: string;
  /**
   * The consumer projects other services' events: its new group starts where deps.fromBeginning
   * says. Otherwise (commands, results) it starts at the beginning whatever the deps say, since
   * none of them may be skipped.
   */
  projection?: boolean;
}

export interface SubgraphServiceOptions<TContext extends BaseContext> {
  /** The service's name: its logs, its health and the audience of the caller tokens it accepts. */
  name: string;
  typeDefs: DocumentNode;
  // Generated resolver types are checked where they are written; the schema builder takes the map.
  resolvers: GraphQLResolverMap<TContext>;
  context: GraphQLRoute<TContext>['context'];
  /** Every model of the service: their indexes (unique ones included) are built before it serves. */
  models: { init(): Promise<unknown> }[];
  relay: OutboxRelay;
  /**
   * Topics made sure of once Kafka is connected, before the relay and the consumers start: those the
   * service produces to (so the relay never publishes to a missing one) or reads before anyone wrote.
   */
  topics?: string[];
  consumers: EventConsumer[];
  /**
   * The service's own components. Each starts after the shared ones of its stage: a `storage` one
   * once the indexes are built (before Kafka), a `work` one once the relay and consumers run.
   */
  components?: Component[];
}

/**
 * The shared wiring of one subgraph, bound to its deps. A server.ts builds its models and domain
 * objects with `relay()` and `consumer()`, then hands them to `service()`.
 */
export function subgraphWiring(deps: SubgraphDeps) {
  const { logger, bus } = deps;
  /** A consumer group's id: the deps' prefix (several instances side by side in tests) before `name`. */
  const group = (name: string) => `${deps.consumerGroupPrefix ?? ''}${name}`;
  /** Whether a new group of a projection starts at the beginning of its topics (see SubgraphDeps). */
  const fromBeginning = deps.fromBeginning ?? true;
  return {
    group,
    fromBeginning,

    /**
     * The relay that publishes what the service's writes put in the outbox of `models`. `intervalMs`
     * is the service's own scan interval (default: the relay's); deps.outboxIntervalMs overrides it.
     */
    relay(models: OutboxRelayOptions['models'], intervalMs?: number): OutboxRelay {
      const relay = createOutboxRelay({
        models,
        bus,
        logger,
        metrics: deps.metrics,
        intervalMs: deps.outboxIntervalMs ?? intervalMs,
      });
      // The backlog on /metrics: what the service's writes left in the outbox, not yet on Kafka.
      deps.metrics.watchOutbox(outboxBacklog(models, relay));
      return relay;
    },

    /** One of the service's consumers, on its bus, in its prefixed group (see SubgraphConsumerOptions). */
    consumer(options: SubgraphConsumerOptions): EventConsumer {
      const { group: name, projection, ...consumer } = options;
      return bus.consumer({
        ...consumer,
        groupId: group(name),
        ...(projection ? { fromBeginning } : {}),
      });
    },

    /**
     * The service around the subgraph's own parts: its GraphQL server, and its components in start
     * order: storage (MongoDB, indexes, its own), messaging (Kafka, its topics, its own), work (outbox
     * relay, consumers, its own). createService stops them by stage, in the reverse order.
     */
    service<TContext extends BaseContext>(
      options: SubgraphServiceOptions<TContext>,
    ): { service: Service; graphql: ApolloServer<TContext> } {
      const graphql = createSubgraphServer<TContext>({
        typeDefs: options.typeDefs,
        resolvers: options.resolvers,
        logger,
        production: deps.config.NODE_ENV === 'production',
      });
      const { topics } = options;
      const topicsComponent: Component[] = topics
        ? [
            {
              name: 'topics',
              stage: 'messaging',
              start: () => bus.ensureTopics(topics),
              stop: async () => undefined,
              ready: () => true,
            },
          ]
        : [];
      const own = (stage: Component['stage']) => (options.components ?? []).filter((c) => c.stage === stage);
      const service = createService<TContext>({
        name: options.name,
        logger,
        metrics: deps.metrics,
        graphql: { server: graphql, context: options.context },
        components: [
          mongoComponent(deps.connection),
          indexesComponent(...options.models),
          ...own('storage'),
          busComponent(bus),
          ...topicsComponent,
          ...own('messaging'),
          relayComponent(options.relay),
          ...options.consumers.map(consumerComponent),
          ...own('work'),
        ],
      });
      return { service, graphql };
    },
  };
}

export type SubgraphWiring = ReturnType<typeof subgraphWiring>;
