import type { Model } from 'mongoose';
import type { OutboxBacklogSource } from '../metrics';
import type { OutboxRelay } from '../mongo/outbox';

/**
 * The outbox backlog of `relay` over `models`, for the metrics' scrape-time gauges (see
 * PlatformMetrics.watchOutbox). The relay publishes in passes and hand-overs and keeps no count of
 * what waits, so the pending entries are counted in MongoDB: documents with an entry are found
 * through the relay's own index on `outbox.id` (outboxIndex), and their entries summed.
 */
export function outboxBacklog(
  // Only the outbox fields are read, whatever else the documents hold.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- models of any document shape
  models: readonly Model<any>[],
  relay: Pick<OutboxRelay, 'handOvers'>,
): OutboxBacklogSource {
  return {
    pending: () =>
      Promise.all(
        models.map(async (model) => {
          const [row] = await model.collection
            .aggregate<{ entries: number }>([
              { $match: { 'outbox.id': { $exists: true } } },
              { $group: { _id: null, entries: { $sum: { $size: '$outbox' } } } },
            ])
            .toArray();
          return { collection: model.collection.collectionName, entries: row?.entries ?? 0 };
        }),
      ),
    handOversHeld: () => relay.handOvers().held,
  };
}
