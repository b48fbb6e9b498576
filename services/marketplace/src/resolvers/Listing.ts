import { badUserInput } from '@waooaw/shared';
import type { ListingResolvers, ReviewResolvers } from '../__generated__/resolvers-types';
import { MAX_REVIEWS_PER_LISTING } from '../context';
import { isListed } from '../listings';

const round = (value: number, digits: number) => Number(value.toFixed(digits));

export const listingResolvers: ListingResolvers = {
  __resolveReference: (reference, ctx) => ctx.loaders.listingById.load(reference.id),
  id: (l) => l._id,
  agent: (l) => ({ id: l._id }),
  capabilities: (l) => l.capabilityNames,
  version: (l) => l.version ?? '0.0.0',
  startingPriceInr: (l) => l.minPriceInr,
  status: (l) => l.status ?? 'DRAFT',
  listed: (l) => isListed(l),
  rating: (l) => ({
    average: l.rating.average === null ? null : round(l.rating.average, 2),
    count: l.rating.count,
  }),
  retentionRate: (l) =>
    l.stats.subscriptions > 0 ? round(l.stats.activeSubscriptions / l.stats.subscriptions, 4) : null,
  conversionRate: (l) =>
    l.stats.trialsStarted > 0 ? round(l.stats.trialsConverted / l.stats.trialsStarted, 4) : null,
  averageResponseMs: (l) => (l.averageResponseMs === null ? null : round(l.averageResponseMs, 1)),
  availability: (l) => l.health,
  reviews: async (l, { first }, ctx) => {
    const limit = first ?? 10;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_REVIEWS_PER_LISTING)
      throw badUserInput(`reviews(first) must be between 1 and ${MAX_REVIEWS_PER_LISTING}`, {
        field: 'first',
      });
    return (await ctx.loaders.reviewsByAgent.load(l._id)).slice(0, limit);
  },
};

export const reviewResolvers: ReviewResolvers = {
  id: (r) => r._id,
  agent: (r) => ({ id: r.agentId }),
};
