import semver from 'semver';
import type { HandlerBinding, InstanceView } from '@waooaw/shared';
import { discoveryEvents, on } from '@waooaw/shared';
import type { InstanceReplicaModel, InstanceReplicaRecord } from './models/instance';

/**
 * The registry as orchestration sees it: discovery's instance events, persisted (so a restart can
 * dispatch at once) and held in memory for the dispatcher, which consults it for every task.
 */
export function createInstanceReplica(model: InstanceReplicaModel) {
  const instances = new Map<string, InstanceView>();
  const listeners: (() => void)[] = [];

  const offers = (view: InstanceView, capability: string, range: string | null) =>
    view.capabilities.some(
      (c) =>
        c.name === capability && (!range || semver.satisfies(c.version, range, { includePrerelease: true })),
    );

  return {
    async load(): Promise<void> {
      for (const r of await model.find().lean<InstanceReplicaRecord[]>()) {
        const { _id, at: _at, ...view } = r;
        void _id;
        instances.set(view.instanceId, view);
      }
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
          const id = data.instance.instanceId;
          if (data.change === 'DEREGISTERED' || data.change === 'REMOVED') {
            await model.deleteOne({ _id: id, at: { $lte: at } });
            if (!(await model.exists({ _id: id }))) instances.delete(id);
          } else {
            const result = await model.updateOne(
              { _id: id, $or: [{ at: { $lte: at } }, { at: null }] },
              { $set: { ...data.instance, at } },
            );
            if (result.matchedCount === 0) {
              // Not there yet (or there with a newer state): insert, losing the race to a newer one.
              await model.create({ _id: id, ...data.instance, at }).catch((err: { code?: number }) => {
                if (err.code !== 11000) throw err;
              });
            }
            const stored = await model.findById(id).lean<InstanceReplicaRecord>();
            if (stored) {
              const { _id, at: _at, ...view } = stored;
              void _id;
              instances.set(id, view);
            }
          }
          for (const listener of listeners) listener();
        }),
      ];
    },
  };
}

export type InstanceReplica = ReturnType<typeof createInstanceReplica>;
