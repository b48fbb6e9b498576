import { randomUUID } from 'node:crypto';
import { uniqueName } from '@waooaw/shared/testing';
import type { RegistrationRequest } from '../registry';
import { IDLE, startDiscovery } from './harness';

/**
 * The registry writes the changes an instance gets at about the same moment (a heartbeat and the
 * outcomes of a fetched batch, from two consumers) as one revision-guarded write. Written one by
 * one they all carried the same revision, so all but one lost, read the instance again and wrote
 * again. Nothing may be lost or applied twice on the way.
 */
describe('discovery: changes to one instance at the same moment', () => {
  let discovery: Awaited<ReturnType<typeof startDiscovery>>;
  beforeAll(async () => {
    discovery = await startDiscovery();
  });
  afterAll(async () => {
    await discovery.stop();
  });

  const request = (): RegistrationRequest => ({
    instanceId: uniqueName('together'),
    handle: uniqueName('wow-together').toLowerCase(),
    agentVersion: '1.0.0',
    tier: 'STANDARD',
    weight: 1,
    ttlSeconds: 60,
    concurrency: 4,
    breakerPreset: 'CONSERVATIVE',
    capabilities: [{ name: 'test.together', version: '1.0.0' }],
    source: 'API',
    runtimeId: 'external',
    agentId: null,
    endpoint: 'http://127.0.0.1:1/agent',
    load: IDLE,
    ready: true,
  });

  const stored = (id: string) => discovery.instances.findById(id).lean().orFail();

  it('applies every outcome and heartbeat once, with one write and no re-read', async () => {
    const { registry } = discovery;
    const req = request();
    await registry.register(req);
    const before = await stored(req.instanceId);
    const reads = jest.spyOn(discovery.instances.collection, 'findOne');
    const ids = Array.from({ length: 30 }, () => randomUUID());
    try {
      await Promise.all([
        ...ids.map((eventId, i) =>
          registry.recordOutcome(
            req.instanceId,
            { outcome: i % 3 === 0 ? 'FAILED' : 'SUCCEEDED', durationMs: 40 },
            eventId,
          ),
        ),
        // One outcome delivered twice in the same moment: counted once.
        registry.recordOutcome(req.instanceId, { outcome: 'FAILED', durationMs: 40 }, ids[0]!),
        registry.heartbeat(req.instanceId, { ...IDLE, inFlight: 3 }),
      ]);
      expect(reads).not.toHaveBeenCalled();
    } finally {
      reads.mockRestore();
    }
    const after = await stored(req.instanceId);
    expect(after.breaker.calls).toHaveLength(30);
    expect(after.breaker.calls.filter((c) => c.failed)).toHaveLength(10);
    expect(after.appliedEventIds).toEqual(expect.arrayContaining(ids));
    expect(after.load.inFlight).toBe(3);
    expect(after.rev).toBe(before.rev + 1);

    // Delivered again later (a redelivery after a rebalance): nothing changes.
    await registry.recordOutcome(req.instanceId, { outcome: 'FAILED', durationMs: 40 }, ids[5]!);
    expect((await stored(req.instanceId)).rev).toBe(after.rev);
  });

  it('fails only the change that cannot apply, and writes the others', async () => {
    const { registry } = discovery;
    const req = request();
    await registry.register(req);
    const [deregistered, beat] = await Promise.allSettled([
      registry.deregister(req.instanceId, 'maintenance'),
      // Decided after the deregistration in the same write: an inactive instance takes no heartbeat.
      registry.heartbeat(req.instanceId, IDLE),
    ]);
    expect(deregistered).toMatchObject({ status: 'fulfilled', value: { status: 'DEREGISTERED' } });
    expect(beat).toMatchObject({
      status: 'rejected',
      reason: { extensions: { code: 'CONFLICT' } },
    });
    expect((await stored(req.instanceId)).status).toBe('DEREGISTERED');
  });
});
