import { discoveryMessages } from '@waooaw/shared';
import { pollFor } from '@waooaw/shared/testing';
import { IDLE, startDiscovery } from './harness';

const INSTANCE = `query($id: ID!) { serviceInstance(id: $id) { id status health { status } load { inFlight } } }`;
const SELECT = `query($c: String!) { selectAgent(capability: $c, strategy: ROUND_ROBIN) { id } }`;

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
 * document's revision on every write. So a new process answers for every instance from the start,
 * those registered before it too, a process whose cache another one has outdated (partitions move
 * at every join and leave) still applies each heartbeat, and once the old process is gone the new
 * one has lost nothing.
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

  it('a process started beside another answers for the whole registry, and keeps it all once the other stops', async () => {
    const { handle } = await d.knownAgent();
    // Keyed by instance id over the heartbeat topic's partitions: two processes share them.
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
    const selectable = async (exec: Exec) => {
      const chosen = new Set<string>();
      for (let i = 0; i < ids.length; i++) {
        const res = await exec<{ selectAgent: { id: string } }>(SELECT, { c: 'content.write-article' });
        expect(res.errors).toBeUndefined();
        chosen.add(res.data!.selectAgent.id);
      }
      return [...chosen].sort();
    };

    // Half the instances are there before the new process starts, half come while both run.
    const before = registrations.slice(0, 4);
    for (const r of before) await d.publishRegister(r);
    await everyoneSees([d.exec], ids.slice(0, 4), 0);
    const second = await d.startAnother();
    try {
      for (const r of registrations.slice(4)) await d.publishRegister(r);
      await everyoneSees([d.exec, second.exec], ids, 0);
      expect(await selectable(second.exec)).toEqual([...ids].sort());
      await beat(1);
      await everyoneSees([d.exec, second.exec], ids, 1);

      // A third process joins (the partitions move), takes heartbeats, and leaves again: the second
      // then holds some partitions with a cache that the third outdated for some instances.
      const third = await d.startAnother();
      try {
        await beat(2);
        await everyoneSees([d.exec, second.exec, third.exec], ids, 2);
      } finally {
        await third.service.stop();
      }
      await beat(3);
      await everyoneSees([d.exec, second.exec], ids, 3);

      // The old process stops: the new one holds every partition and still has every instance.
      await d.service.stop();
      await beat(0);
      await everyoneSees([second.exec], ids, 0);
      for (const id of ids) expect((await seen(second.exec, id))?.health.status).toBe('HEALTHY');
      expect(await selectable(second.exec)).toEqual([...ids].sort());
    } finally {
      await second.service.stop();
    }
  });
});
