/**
 * The default HTTP port of every platform process, the one place they are written in code (the
 * tables of README.md and docs/architecture.md, docker-compose.yml and each workspace's
 * package.json `waooaw.port`, which @waooaw/infra reads to start the platform, repeat them; a test
 * in shared/src/__tests__/ports.test.ts holds the package.json ones to these).
 *
 * - The gateway is the only endpoint clients use (docker-compose.yml publishes no other port), so
 *   it has the round number: http://localhost:4000/graphql is the address every example gives.
 * - The six subgraphs take the ports after it, one each, in the order the platform grew (identity
 *   first); the gateway calls them at these ports unless `<NAME>_URL` says otherwise.
 * - The agents runtime serves only health endpoints. It sits at 4010, apart from the subgraphs, so
 *   a seventh subgraph can take 4007 without moving it.
 * - The bench starts runtimes of its own beside the platform's, on the ports after it (4011 on).
 *
 * A second platform on the same machine (the bench's --port-offset, the chaos run's) moves every
 * port by the same offset, and `npm start` serves each process's /metrics at its port + 5000
 * (infra's METRICS_PORT_OFFSET).
 */
export const SUBGRAPH_PORTS = {
  identity: 4001,
  factory: 4002,
  discovery: 4003,
  orchestration: 4004,
  marketplace: 4005,
  support: 4006,
} as const;

/** Every platform process's default port, by the name its package.json gives it (`waooaw.service`). */
export const PORTS = {
  gateway: 4000,
  ...SUBGRAPH_PORTS,
  'agents-runtime': 4010,
} as const;

/** A platform process by its name. */
export type PlatformProcessName = keyof typeof PORTS;

/** A subgraph served by a process of its own (the gateway's audit subgraph is not one). */
export type SubgraphProcessName = keyof typeof SUBGRAPH_PORTS;

/** The subgraphs served by processes of their own, in the order of their ports. */
export const SUBGRAPH_PROCESSES = Object.keys(SUBGRAPH_PORTS) as SubgraphProcessName[];

/** The first port of the bench's own runtimes: the i-th (from 0) listens on this + i. */
export const BENCH_RUNTIME_FIRST_PORT = PORTS['agents-runtime'] + 1;

/** The gateway's address on this machine at its default port (without a path). */
export const DEFAULT_GATEWAY_URL = `http://localhost:${PORTS.gateway}`;

/** A subgraph's GraphQL endpoint on this machine at its default port. */
export function defaultSubgraphUrl(name: SubgraphProcessName): string {
  return `http://localhost:${SUBGRAPH_PORTS[name]}/graphql`;
}
