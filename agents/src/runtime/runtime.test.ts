import type { EventBus, InstanceLoad } from '@waooaw/shared';
import {
  agentsMessages,
  createEventBus,
  createMetrics,
  discoveryMessages,
  HEARTBEATS_TOPIC,
  runtimeInbox,
  TASK_RESULTS_TOPIC,
  taskAssignedTo,
} from '@waooaw/shared';
import { collectEvents, pollFor, testKafka, testLogger, uniqueName } from '@waooaw/shared/testing';
import { catalogue } from '../../generated';
import { planFleet } from './fleet';
import { createAgentRuntime } from './runtime';

describe('the agents runtime on Kafka', () => {
  it('registers its instances, heartbeats with their load, and deregisters them when it stops', async () => {
    const runtimeId = uniqueName('rt');
    const heartbeats = await collectEvents([HEARTBEATS_TOPIC]);
    const busOf = () => createEventBus({ ...testKafka(), service: 'agents-runtime', logger: testLogger() });
    const runtimeOf = (id: string, bus: EventBus, size: number, handles: string[]) =>
      createAgentRuntime({
        bus,
        logger: testLogger(),
        runtimeId: id,
        fleet: planFleet(catalogue, { runtimeId: id, size, handles }),
        catalogue,
        heartbeatIntervalMs: 150,
        ttlSeconds: 2,
      });
    const bus = busOf();
    const runtime = runtimeOf(runtimeId, bus, 3, ['wow-math-mentor', 'wow-pipe-sdr']);
    // A runtime beside it that beats on: its heartbeats show time passing once the other has stopped.
    const controlId = uniqueName('rt-control');
    const controlBus = busOf();
    const control = runtimeOf(controlId, controlBus, 1, ['wow-math-mentor']);
    const of = (id: string, type: string) =>
      heartbeats.events(type).filter((e) => String(e.data.runtimeId) === id);
    const mine = (type: string) => of(runtimeId, type);
    try {
      await control.start();
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
      // While the control beats three more times (three of the stopped runtime's intervals) ...
      const controlBeats = () => of(controlId, discoveryMessages.instanceHeartbeat.type).length;
      const controlAtStop = controlBeats();
      await pollFor(() => controlBeats() >= controlAtStop + 3, {
        what: 'three more heartbeats of the control',
      });
      // ... the stopped runtime sent none: read to the topic's end, whichever partition it would be in.
      await heartbeats.caughtUp();
      expect(mine(discoveryMessages.instanceHeartbeat.type)).toHaveLength(beatsAtStop);
    } finally {
      await control.stop();
      await controlBus.disconnect();
      await heartbeats.stop();
    }
  });

  it('runs an attempt delivered twice once, and a retry (a new attempt) again', async () => {
    const runtimeId = uniqueName('rt-once');
    const events = await collectEvents([TASK_RESULTS_TOPIC]);
    const bus = createEventBus({ ...testKafka(), service: 'agents-runtime', logger: testLogger() });
    const runtime = createAgentRuntime({
      bus,
      logger: testLogger(),
      runtimeId,
      fleet: planFleet(catalogue, { runtimeId, size: 1, handles: ['wow-math-mentor'] }),
      catalogue,
      heartbeatIntervalMs: 1000,
      ttlSeconds: 5,
    });
    const instanceId = runtime.instances[0]!.spec.instanceId;
    // Keyed by the instance, like orchestration's assignments: one partition, so in order.
    const assign = (taskId: string, attempt: number) =>
      bus.publish(
        taskAssignedTo(runtimeId),
        {
          taskId,
          attempt,
          instanceId,
          capability: 'tutoring.solve-problem',
          input: { request: 'Solve: 2x + 3 = 11' },
          timeoutMs: 10_000,
        },
        { subject: instanceId },
      );
    const results = (taskId: string) => events.events(agentsMessages.taskResult.type, taskId);
    const task = `${runtimeId}-twice`;
    const marker = `${runtimeId}-after`;
    try {
      await runtime.start();
      // The same attempt twice (an outbox that re-sent it), then another task behind them: once that
      // one is answered, both copies have been read.
      await assign(task, 1);
      await assign(task, 1);
      await assign(marker, 1);
      await pollFor(() => results(marker)[0] && results(task)[0], { what: 'both answers' });
      expect(results(task).map((e) => e.data.attempt)).toEqual([1]);

      await assign(task, 2);
      await pollFor(() => results(task).length === 2, { what: 'the retry answered' });
      expect(results(task).map((e) => e.data.attempt)).toEqual([1, 2]);
    } finally {
      await runtime.stop();
      await bus.disconnect();
      await events.stop();
    }
  });

  it('does not run an attempt orchestration has already timed out, and gives a late one only what is left', async () => {
    const runtimeId = uniqueName('rt-expired');
    const events = await collectEvents([TASK_RESULTS_TOPIC]);
    const metrics = createMetrics('agents-runtime-test');
    const bus = createEventBus({ ...testKafka(), service: 'agents-runtime', logger: testLogger() });
    const runtime = createAgentRuntime({
      bus,
      logger: testLogger(),
      runtimeId,
      // Each attempt takes at least 1.5 s, so 1 s of time left is not enough.
      fleet: planFleet(catalogue, {
        runtimeId,
        size: 1,
        handles: ['wow-math-mentor'],
        workMs: { min: 1500, max: 1500 },
      }),
      catalogue,
      heartbeatIntervalMs: 1000,
      ttlSeconds: 5,
      metrics,
    });
    const instanceId = runtime.instances[0]!.spec.instanceId;
    /** An assignment handed out `ageMs` ago (its envelope's time), with a 10 s attempt timeout. */
    const assign = (taskId: string, ageMs: number) =>
      bus.publish(
        taskAssignedTo(runtimeId),
        {
          taskId,
          attempt: 1,
          instanceId,
          capability: 'tutoring.solve-problem',
          input: { request: 'Solve: 2x + 3 = 11' },
          timeoutMs: 10_000,
        },
        { subject: instanceId, time: new Date(Date.now() - ageMs).toISOString() },
      );
    const results = (taskId: string) => events.events(agentsMessages.taskResult.type, taskId);
    const expired = async () =>
      (await metrics.registry.getSingleMetric('waooaw_runtime_attempts_expired_total')?.get())?.values[0]
        ?.value ?? 0;
    try {
      await runtime.start();
      // Handed out 11 s ago (timed out at 10 s), 9 s ago (1 s left), just now; one partition, in order.
      await assign(`${runtimeId}-expired`, 11_000);
      await assign(`${runtimeId}-late`, 9_000);
      await assign(`${runtimeId}-fresh`, 0);
      await pollFor(() => results(`${runtimeId}-fresh`)[0] && results(`${runtimeId}-late`)[0], {
        what: 'the late and the fresh attempt answered',
      });
      expect(results(`${runtimeId}-fresh`)[0]!.data.outcome).toBe('SUCCEEDED');
      const late = results(`${runtimeId}-late`)[0]!.data;
      expect(late.outcome).toBe('FAILED');
      expect(late.error).toMatch(/timed out after \d+ ms/);
      expect(results(`${runtimeId}-expired`)).toEqual([]);
      expect(await expired()).toBe(1);
    } finally {
      await runtime.stop();
      await bus.disconnect();
      await events.stop();
    }
  });

  it('injects faults: errors fails every attempt, silent answers and beats nothing, null recovers', async () => {
    const runtimeId = uniqueName('rt-fault');
    const controlId = uniqueName('rt-control');
    const events = await collectEvents([HEARTBEATS_TOPIC, TASK_RESULTS_TOPIC]);
    const bus = createEventBus({
      ...testKafka(),
      service: 'agents-runtime',
      logger: testLogger(),
    });
    const admin = bus.kafka.admin();
    const runtimeOf = (id: string) =>
      createAgentRuntime({
        bus,
        logger: testLogger(),
        runtimeId: id,
        fleet: planFleet(catalogue, { runtimeId: id, size: 1, handles: ['wow-math-mentor'] }),
        catalogue,
        heartbeatIntervalMs: 100,
        ttlSeconds: 2,
      });
    const runtime = runtimeOf(runtimeId);
    // A healthy runtime beside it: its heartbeats show time passing while the other one is silent.
    const control = runtimeOf(controlId);
    const instanceId = runtime.instances[0]!.spec.instanceId;
    let assigned = 0;
    const assign = async (taskId: string) => {
      await bus.publish(
        taskAssignedTo(runtimeId),
        {
          taskId,
          attempt: 1,
          instanceId,
          capability: 'tutoring.solve-problem',
          input: { request: 'Solve: find the area bounded by y = x^2 and y = 2x' },
          timeoutMs: 10_000,
        },
        { subject: instanceId },
      );
      assigned++;
    };
    const results = (taskId: string) => events.events(agentsMessages.taskResult.type, taskId);
    const resultOf = (taskId: string) =>
      pollFor(() => results(taskId)[0], { what: `the result of ${taskId}` }).then((e) => e.data);
    const beatsAfter = (id: string, since: number) =>
      events
        .events(discoveryMessages.instanceHeartbeat.type)
        .filter((e) => String(e.data.runtimeId) === id && Date.parse(String(e.data.sentAt)) > since);
    const task = (name: string) => `${runtimeId}-${name}`;
    try {
      await admin.connect();
      await Promise.all([runtime.start(), control.start()]);
      expect(runtime.fault).toBeNull();
      await assign(task('before'));
      expect(await resultOf(task('before'))).toMatchObject({ outcome: 'SUCCEEDED', instanceId, runtimeId });

      runtime.setFault('errors');
      expect(runtime.fault).toBe('errors');
      await assign(task('err-1'));
      await assign(task('err-2'));
      for (const name of ['err-1', 'err-2']) {
        const result = await resultOf(task(name));
        expect(result).toMatchObject({
          outcome: 'FAILED',
          instanceId,
          error: `injected fault: ${instanceId} fails every attempt`,
        });
        expect(result.output).toBeUndefined();
      }
      // Still alive: it heartbeats, with the failures in its load (discovery's health reads them).
      await pollFor(
        () =>
          beatsAfter(runtimeId, 0).some((b) => {
            const load = b.data.load as InstanceLoad;
            return load.failed === 2 && load.completed === 1;
          }),
        { what: 'a heartbeat reporting the two failures' },
      );

      runtime.setFault('silent');
      const silencedAt = Date.now();
      expect(runtime.fault).toBe('silent');
      await assign(task('silent'));
      // The assignment was taken off the inbox (its offset committed) ...
      await pollFor(
        async () => {
          // The raw admin names the group and topic as on the broker (in the run's namespace).
          const [offsets] = await admin.fetchOffsets({
            groupId: bus.groupId(`agents-runtime.${runtimeId}`),
            topics: [bus.topic(runtimeInbox(runtimeId))],
          });
          return offsets!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0) === assigned;
        },
        { what: 'the assignment consumed' },
      );
      // ... and, while the healthy runtime beat five more times, the silent one neither answered it
      // nor sent a heartbeat it began after going silent.
      await pollFor(() => beatsAfter(controlId, silencedAt).length >= 5, {
        what: "the control's heartbeats",
      });
      expect(beatsAfter(runtimeId, silencedAt)).toEqual([]);
      expect(results(task('silent'))).toEqual([]);

      runtime.setFault(null);
      const clearedAt = Date.now();
      expect(runtime.fault).toBeNull();
      await pollFor(() => beatsAfter(runtimeId, clearedAt).length > 0, { what: 'heartbeats again' });
      await assign(task('after'));
      expect(await resultOf(task('after'))).toMatchObject({ outcome: 'SUCCEEDED', instanceId });
      // The assignment dropped while silent stays unanswered (orchestration times it out).
      expect(results(task('silent'))).toEqual([]);
    } finally {
      await Promise.all([runtime.stop(), control.stop()]);
      await admin.disconnect();
      await bus.disconnect();
      await events.stop();
    }
  });
});
