import type { BenchOptions } from './args';
import type { FleetProcess } from './fleet';
import type { GatewayClient } from './graphql';
import type { BenchKafka } from './kafka';
import type { BenchPlatform } from './platform';
import type { WatchedProcess } from './proc';
import type { createProgress } from './progress';
import type { TaskTracker } from './tracker';

/** Everything a scenario needs, set up once by the CLI. */
export interface BenchContext {
  options: BenchOptions;
  runId: string;
  platform: BenchPlatform;
  kafka: BenchKafka;
  tracker: TaskTracker;
  /** The gateway as the bench's operator. */
  operator: GatewayClient;
  /** The gateway as an anonymous visitor (browse). */
  visitor: GatewayClient;
  fleet: FleetProcess[];
  /** instance id -> tier of the bench's fleet. */
  tierOf(instanceId: string): string | undefined;
  /** Circuit transitions to OPEN seen so far, by instance. */
  breakerTrips(): Map<string, number>;
  /** Every process whose CPU and RSS the report shows. */
  processes(): WatchedProcess[];
  progress: ReturnType<typeof createProgress>;
  log(line: string): void;
  /** Waits until every running fleet runtime's instances are HEALTHY in discovery. */
  waitFleetHealthy(timeoutMs?: number): Promise<void>;
}
