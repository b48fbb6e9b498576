import { discoverServices } from '@waooaw/infra';
import {
  BENCH_RUNTIME_FIRST_PORT,
  defaultSubgraphUrl,
  PORTS,
  SUBGRAPH_PORTS,
  SUBGRAPH_PROCESSES,
} from '../ports';

describe('ports', () => {
  // `npm start` and the bench start the processes at package.json's `waooaw.port` (infra cannot
  // import this package); both must name the same ports.
  it('are the ports the launcher starts every process at', () => {
    const launched = Object.fromEntries(discoverServices().map((s) => [s.name, s.port]));
    expect(launched).toEqual(PORTS);
  });

  it('are distinct, the bench runtimes above every process of the platform', () => {
    const ports = Object.values(PORTS);
    expect(new Set(ports).size).toBe(ports.length);
    expect(BENCH_RUNTIME_FIRST_PORT).toBeGreaterThan(Math.max(...ports));
  });

  it('list the subgraphs in the order of their ports, each with its local URL', () => {
    expect(SUBGRAPH_PROCESSES).toHaveLength(6);
    const ports = SUBGRAPH_PROCESSES.map((name) => SUBGRAPH_PORTS[name]);
    expect(ports).toEqual([...ports].sort((a, b) => a - b));
    expect(defaultSubgraphUrl('marketplace')).toBe('http://localhost:4005/graphql');
  });
});
