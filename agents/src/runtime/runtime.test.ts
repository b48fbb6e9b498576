import { createEventBus, discoveryMessages, HEARTBEATS_TOPIC } from '@waooaw/shared';
import { collectEvents, pollFor, testInfra, testLogger, uniqueName } from '@waooaw/shared/testing';
import { catalogue } from '../../generated';
import { planFleet } from './fleet';
import { createAgentRuntime } from './runtime';

describe('the agents runtime on Kafka', () => {
  it('registers its instances, heartbeats with their load, and deregisters them when it stops', async () => {
    const runtimeId = uniqueName('rt');
    const heartbeats = await collectEvents([HEARTBEATS_TOPIC]);
    const bus = createEventBus({
      brokers: testInfra().brokers,
      service: 'agents-runtime',
      logger: testLogger(),
    });
    const runtime = createAgentRuntime({
      bus,
      logger: testLogger(),
      runtimeId,
      fleet: planFleet(catalogue, { runtimeId, size: 3, handles: ['wow-math-mentor', 'wow-pipe-sdr'] }),
      catalogue,
      heartbeatIntervalMs: 150,
      ttlSeconds: 2,
    });
    const mine = (type: string) =>
      heartbeats.events(type).filter((e) => String(e.data.runtimeId) === runtimeId);
    try {
      await runtime.start();
      expect(runtime.component().ready()).toBe(true);
      await pollFor(() => mine(discoveryMessages.instanceRegister.type).length === 3, {
        what: 'three registrations',
      });
      expect(
        mine(discoveryMessages.instanceRegister.type)
          .map((e) => e.subject)
          .sort(),
      ).toEqual([
        `${runtimeId}:wow-math-mentor:0`,
        `${runtimeId}:wow-math-mentor:1`,
        `${runtimeId}:wow-pipe-sdr:0`,
      ]);
      const finish = runtime.instances[0]!.load.begin();
      const beat = await pollFor(
        () =>
          mine(discoveryMessages.instanceHeartbeat.type).find(
            (e) =>
              e.subject === `${runtimeId}:wow-math-mentor:0` &&
              (e.data.load as { inFlight: number }).inFlight === 1,
          ),
        { what: 'a heartbeat with the task in flight' },
      );
      finish(true);
      expect(beat.data).toMatchObject({
        handle: 'wow-math-mentor',
        ttlSeconds: 2,
        ready: true,
      });
      expect((beat.data.capabilities as { name: string }[]).map((c) => c.name)).toEqual(
        runtime.instances[0]!.spec.manifest.capabilities.map((c) => c.name),
      );
      expect(beat.data.tier).toBe('PREMIUM');
    } finally {
      await runtime.stop();
      await bus.disconnect();
    }
    await pollFor(() => mine(discoveryMessages.instanceDeregister.type).length === 3, {
      what: 'three deregistrations',
    });
    const beatsAtStop = mine(discoveryMessages.instanceHeartbeat.type).length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(mine(discoveryMessages.instanceHeartbeat.type)).toHaveLength(beatsAtStop);
    await heartbeats.stop();
  });
});
