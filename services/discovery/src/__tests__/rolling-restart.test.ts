import { discoveryMessages } from '@waooaw/shared';
import { pollFor } from '@waooaw/shared/testing';
import { IDLE, startDiscovery } from './harness';

const INSTANCE = `query($id: ID!) { serviceInstance(id: $id) { id status health { status } load { inFlight } } }`;

type Discovery = Awaited<ReturnType<typeof startDiscovery>>;
type Exec = Discovery['exec'];
interface Seen {
  id: string;
  status: string;
  health: { status: string };
  load: { inFlight: number };
}

/**
 * Discovery across a rolling restart. Its registry is the database, not a view in memory: its
 * consumer groups are work shared by its processes (each heartbeat applied once, by whichever
 * process holds its partition), and the per-process cache of instances is checked against each
 * document's revision on every write. So every process answers for every instance, and a process
 * whose cache another one has outdated (partitions move at every join and leave) still applies
 * each heartbeat.
 */
describe('discovery: the registry across a rolling restart', () => {
  let d: Discovery;
  beforeAll(async () => {
    d = await startDiscovery();
  });
  afterAll(() => d.stop());

  const seen = async (exec: Exec, id: string) =>
    (await exec<{ serviceInstance: Seen | null }>(INSTANCE, { id })).data?.serviceInstance ?? null;
  const everyoneSees = (execs: Exec[], ids: string[], inFlight: number) =>
    pollFor(
      async () => {
        for (const exec of execs)
          for (const id of ids) {
            const i = await seen(exec, id);
            if (i?.status !== 'ACTIVE' || i.load.inFlight !== inFlight) return false;
          }
        return true;
      },
      { what: `every process to see every instance ACTIVE with ${inFlight} in flight` },
    );

  it('every process answers for every instance, and each heartbeat is applied whichever process takes it', async () => {
    const { handle } = await d.knownAgent();
    const second = await d.startAnother();
    try {
      // Keyed by instance id over the heartbeat topic's partitions: the two processes share them.
      const registrations = Array.from({ length: 8 }, () => d.runtimeRegistration(handle));
      const ids = registrations.map((r) => r.instanceId);
      const beat = (inFlight: number) =>
        Promise.all(
          registrations.map((r) =>
            d.outside.publish(
              discoveryMessages.instanceHeartbeat,
              { ...r, load: { ...IDLE, inFlight }, ready: true, sentAt: new Date().toISOString() },
              { subject: r.instanceId },
            ),
          ),
        );
      for (const r of registrations) await d.publishRegister(r);
      await everyoneSees([d.exec, second.exec], ids, 0);
      await beat(1);
      await everyoneSees([d.exec, second.exec], ids, 1);

      // A third process joins (the partitions move), takes heartbeats, and leaves again: the second
      // then holds every partition with a cache that the third outdated for some instances.
      const third = await d.startAnother();
      try {
        await beat(2);
        await everyoneSees([d.exec, second.exec, third.exec], ids, 2);
      } finally {
        await third.service.stop();
      }
      await beat(3);
      await everyoneSees([d.exec, second.exec], ids, 3);
      for (const id of ids) expect((await seen(second.exec, id))?.health.status).toBe('HEALTHY');
    } finally {
      await second.service.stop();
    }
  }, 120_000);
});
