import semver from 'semver';
import type { HandlerBinding, InstanceView, TopicPosition } from '@waooaw/shared';
import { discoveryEvents, isDuplicateKey, on } from '@waooaw/shared';
import type {
  InstanceReplicaModel,
  InstanceReplicaRecord,
  ReplicaPositionModel,
  ReplicaPositionRecord,
} from './models/instance';

/** The topic the replica is built from. */
export const REPLICA_TOPIC = discoveryEvents.instanceChanged.topic;

/**
 * How long a tombstone (a deregistered or removed instance) is kept. It only has to outlive the
 * events of its instance that a process may still apply late, and processes read from positions
 * recorded every second or so: a day is far beyond that.
 */
export const TOMBSTONE_KEPT_MS = 24 * 3_600_000;

function toView(record: InstanceReplicaRecord): InstanceView {
  const { _id, at, gone, ...view } = record as InstanceReplicaRecord & { __v?: number };
  void [_id, at, gone];
  delete (view as { __v?: number }).__v; // written by the versions before versionKey was turned off
  return view;
}

/**
 * The registry as orchestration sees it: discovery's instance events, persisted (so a restart can
 * dispatch at once) and held in memory for the dispatcher, which consults it for every task.
 *
 * Every process needs the whole registry in memory, so every process reads every instance event:
 * its consumer group is its own (processGroupId), never shared with the other processes of a
 * rolling restart (a shared group split the topic between them, and each dispatched from part of
 * the registry, for good). A new group does not read the topic's whole history at each start: the
 * collection is a snapshot, and `instance_positions` records up to where it is applied (every
 * process writes both, idempotently). `load` reads the positions first and the snapshot second, so
 * the snapshot holds at least every event before the positions; the group then starts at them
 * (`startAt`) and reads again only the events since (about a second's worth), which change nothing
 * the snapshot already has newer. Each write is guarded by the event's time, so the order in which
 * processes apply the same events does not matter.
 *
 * (The alternative, a log-compacted topic read from its start by every process, would need
 * discovery to publish tombstones for gone instances and the topic's segments tuned for the
 * compaction to keep up; its history up to the last compaction is read at every start, and the view
 * is partial until then. The database already holds the state, so it is the snapshot.)
 */
export function createInstanceReplica(model: InstanceReplicaModel, positions: ReplicaPositionModel) {
  const instances = new Map<string, InstanceView>();
  const listeners: (() => void)[] = [];
  let startPositions: TopicPosition[] = [];

  const offers = (view: InstanceView, capability: string, range: string | null) =>
    view.capabilities.some(
      (c) =>
        c.name === capability && (!range || semver.satisfies(c.version, range, { includePrerelease: true })),
    );

  /** Writes an instance's state unless a newer one is there, then holds in memory whatever is stored. */
  async function apply(id: string, fields: InstanceView & { gone: boolean }, at: Date): Promise<void> {
    const result = await model.updateOne(
      { _id: id, $or: [{ at: { $lte: at } }, { at: null }] },
      { $set: { ...fields, at } },
    );
    if (result.matchedCount === 0) {
      // Not there yet (or there with a newer state): insert, losing the race to a newer one.
      await model.create({ _id: id, ...fields, at }).catch((err: unknown) => {
        if (!isDuplicateKey(err)) throw err;
      });
    }
    const stored = await model.findById(id).lean<InstanceReplicaRecord>();
    if (stored && !stored.gone) instances.set(id, toView(stored));
    else instances.delete(id);
  }

  return {
    /**
     * Reads where the snapshot is applied up to, then the snapshot. `ends` (given when the consumer
     * starts at the end of partitions it has no position for, as tests do) is read before the
     * snapshot too, so events published between the two are not skipped.
     */
    async load(ends?: () => Promise<TopicPosition[]>): Promise<void> {
      const saved = await positions.find({ topic: REPLICA_TOPIC }).lean<ReplicaPositionRecord[]>();
      startPositions = saved.map((p) => ({
        topic: p.topic,
        partition: p.partition,
        offset: String(p.offset),
      }));
      if (ends) {
        const known = new Set(saved.map((p) => p.partition));
        startPositions.push(...(await ends()).filter((e) => !known.has(e.partition)));
      }
      instances.clear();
      for (const r of await model.find({ gone: { $ne: true } }).lean<InstanceReplicaRecord[]>())
        instances.set(r._id, toView(r));
    },
    /** Where the replica's consumer starts (see ConsumerOptions.startAt): the positions `load` read. */
    startAt: () => Promise.resolve(startPositions),
    /**
     * Records how far this process has applied the topic (see ConsumerOptions.onCommit). Set, not
     * maximised: each record is true of the process that writes it (it applied every event before),
     * so a process behind another only makes a later start read a little more; and a topic created
     * again (offsets back to 0) is not stuck behind positions it will never reach.
     */
    async savePositions(offsets: TopicPosition[]): Promise<void> {
      const at = new Date();
      await positions.bulkWrite(
        offsets.map((o) => ({
          updateOne: {
            filter: { _id: `${o.topic}:${o.partition}` },
            update: { $set: { topic: o.topic, partition: o.partition, offset: Number(o.offset), at } },
            upsert: true,
          },
        })),
      );
    },
    /** Call after a change that may let queued work start (an instance joined or recovered). */
    onChange(listener: () => void) {
      listeners.push(listener);
    },
    /** Instances that offer a capability in a semver range, optionally of one agent (any health: the balancer filters). */
    offering(capability: string, range: string | null, handle: string | null = null): InstanceView[] {
      return [...instances.values()].filter(
        (v) => (handle === null || v.handle === handle) && offers(v, capability, range),
      );
    },
    /** The instances of an agent, by its handle (an agent keeps its handle across ids and versions). */
    byHandle(handle: string): InstanceView[] {
      return [...instances.values()].filter((v) => v.handle === handle);
    },
    get(id: string): InstanceView | undefined {
      return instances.get(id);
    },
    size: () => instances.size,
    handlers(): HandlerBinding[] {
      return [
        on(discoveryEvents.instanceChanged, async (data) => {
          const at = new Date(data.at);
          const gone = data.change === 'DEREGISTERED' || data.change === 'REMOVED';
          await apply(data.instance.instanceId, { ...data.instance, gone }, at);
          if (gone)
            await model.deleteMany({ gone: true, at: { $lt: new Date(at.getTime() - TOMBSTONE_KEPT_MS) } });
          for (const listener of listeners) listener();
        }),
      ];
    },
  };
}

export type InstanceReplica = ReturnType<typeof createInstanceReplica>;
