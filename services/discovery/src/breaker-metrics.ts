import type { PlatformMetrics } from '@waooaw/shared';
import { CIRCUIT_STATES, Gauge, scrapeRead } from '@waooaw/shared';
import type { InstanceModel } from './models/instance';

/**
 * waooaw_breaker_state{state}: the ACTIVE instances whose circuit breaker is in each state, read from
 * MongoDB when /metrics is scraped. Breakers live in the instance documents, shared by every replica,
 * so each replica reports the same counts (aggregate with max, not sum). Counts per state rather than
 * a series per instance: instances come and go with every runtime restart, and a series each would
 * grow without bound. An OPEN breaker past its open time counts as OPEN until the sweeper (or the
 * next call) turns it HALF_OPEN.
 */
export function breakerStateGauge(registry: PlatformMetrics['registry'], instances: InstanceModel): void {
  const last = new Map<string, number>(CIRCUIT_STATES.map((s) => [s, 0]));
  new Gauge({
    name: 'waooaw_breaker_state',
    help: 'ACTIVE agent instances by circuit breaker state (CLOSED, OPEN, HALF_OPEN), from the registry at scrape time',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      // Served by the { status, ... } indexes; kept from the last scrape if MongoDB does not answer.
      const rows = await scrapeRead(
        instances
          .aggregate<{ _id: string; count: number }>([
            { $match: { status: 'ACTIVE' } },
            { $group: { _id: '$breaker.state', count: { $sum: 1 } } },
          ])
          .exec(),
      );
      if (rows) {
        for (const state of CIRCUIT_STATES) last.set(state, 0);
        for (const row of rows) last.set(row._id, row.count);
      }
      for (const [state, count] of last) this.set({ state }, count);
    },
  });
}
