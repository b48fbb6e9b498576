import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';
import type { HealthState, LifecycleStatus, OutboxDocument } from '@waooaw/shared';
import {
  AGENT_CATEGORIES,
  appliedEventsSchemaFields,
  HEALTH_STATES,
  outboxIndex,
  outboxSchemaFields,
} from '@waooaw/shared';

export type AgentCategory = (typeof AGENT_CATEGORIES)[number];

export interface PlanRecord {
  id: string;
  name: string;
  monthlyPriceInr: number;
  features: string[];
}

export interface SampleDeliverableRecord {
  taskId: string;
  title: string;
  summary: string;
  format: string;
  content: string;
  createdAt: Date;
}

/**
 * A CUSTOMER agent as the marketplace lists it, projected from identity's, discovery's and
 * orchestration's events (no service reads another's database). `_id` is the agent id.
 *
 * A placeholder (`registered: false`) is made when a lifecycle or health event arrives before
 * identity's registration (their topics are consumed side by side): it keeps what that event said
 * and is never shown until the registration fills it in.
 */
export interface ListingRecord extends OutboxDocument {
  _id: string;
  registered: boolean;
  handle: string;
  name: string;
  description: string;
  headline: string;
  persona: { tagline: string; statusLine: string };
  category: AgentCategory;
  specialization: string;
  industries: string[];
  /** Lower-case industries, for the industry filter. */
  industryKeys: string[];
  tags: string[];
  capabilities: { name: string; version: string }[];
  capabilityNames: string[];
  /** The highest registered version (null on a placeholder). */
  version: string | null;
  plans: PlanRecord[];
  /** The cheapest plan's monthly price (null without plans). */
  minPriceInr: number | null;
  trialDays: number;
  status: LifecycleStatus | null;
  /** Time of the event that set `status`: identity's topics may be read out of order. */
  statusAt: Date | null;
  /** When the agent first became ACTIVE here; set once, listings need it. */
  listedAt: Date | null;
  /** Lower-case words of name, handle, specialization, tags, industries and capabilities. */
  searchText: string;
  health: HealthState;
  healthAt: Date | null;
  availableNow: boolean;
  rating: { average: number | null; count: number };
  /** Ratings are recomputed from the reviews; a recompute only lands if no later one did. */
  ratingSeq: number;
  ratingAppliedSeq: number;
  stats: {
    trialsStarted: number;
    trialsConverted: number;
    subscriptions: number;
    activeSubscriptions: number;
  };
  statsSeq: number;
  statsAppliedSeq: number;
  /** Trials started plus subscriptions taken. */
  popularity: number;
  responseCount: number;
  responseSumMs: number;
  averageResponseMs: number | null;
  completedTasks: number;
  failedTasks: number;
  // Sort keys that are never null, so keyset cursors compare plain numbers.
  sortRating: number;
  sortPriceLow: number;
  sortPriceHigh: number;
  sortResponse: number;
  /** The sample task in flight or done (requested once the listing is ACTIVE and available). */
  sampleTaskId: string | null;
  /** Sample tasks that failed or were rejected (a later one is tried, up to MAX_SAMPLE_ATTEMPTS). */
  sampleFailures: number;
  sampleDeliverables: SampleDeliverableRecord[];
  appliedEventIds: string[];
  createdAt: Date;
  updatedAt: Date;
}

/** Sort keys of listings without a value: last in both directions where it matters. */
export const NO_PRICE_LOW = 1e12;
export const NO_PRICE_HIGH = -1;
export const NO_RESPONSE = 1e15;

const planSchema = new Schema<PlanRecord>(
  { id: String, name: String, monthlyPriceInr: Number, features: { type: [String], default: [] } },
  { _id: false },
);

const sampleSchema = new Schema<SampleDeliverableRecord>(
  { taskId: String, title: String, summary: String, format: String, content: String, createdAt: Date },
  { _id: false },
);

const listingSchema = new Schema<ListingRecord>(
  {
    _id: String,
    registered: { type: Boolean, default: false },
    handle: { type: String, required: true },
    name: { type: String, default: '' },
    description: { type: String, default: '' },
    headline: { type: String, default: '' },
    persona: {
      type: new Schema({ tagline: String, statusLine: String }, { _id: false }),
      default: () => ({ tagline: '', statusLine: '' }),
    },
    category: { type: String, enum: AGENT_CATEGORIES, default: 'MARKETING' },
    specialization: { type: String, default: '' },
    industries: { type: [String], default: [] },
    industryKeys: { type: [String], default: [] },
    tags: { type: [String], default: [] },
    capabilities: {
      type: [new Schema({ name: String, version: String }, { _id: false })],
      default: [],
    },
    capabilityNames: { type: [String], default: [] },
    version: { type: String, default: null },
    plans: { type: [planSchema], default: [] },
    minPriceInr: { type: Number, default: null },
    trialDays: { type: Number, default: 7 },
    status: { type: String, default: null },
    statusAt: { type: Date, default: null },
    listedAt: { type: Date, default: null },
    searchText: { type: String, default: '' },
    health: { type: String, enum: HEALTH_STATES, default: 'UNKNOWN' },
    healthAt: { type: Date, default: null },
    availableNow: { type: Boolean, default: false },
    rating: {
      type: new Schema({ average: { type: Number, default: null }, count: Number }, { _id: false }),
      default: () => ({ average: null, count: 0 }),
    },
    ratingSeq: { type: Number, default: 0 },
    ratingAppliedSeq: { type: Number, default: 0 },
    stats: {
      type: new Schema(
        {
          trialsStarted: Number,
          trialsConverted: Number,
          subscriptions: Number,
          activeSubscriptions: Number,
        },
        { _id: false },
      ),
      default: () => ({ trialsStarted: 0, trialsConverted: 0, subscriptions: 0, activeSubscriptions: 0 }),
    },
    statsSeq: { type: Number, default: 0 },
    statsAppliedSeq: { type: Number, default: 0 },
    popularity: { type: Number, default: 0 },
    responseCount: { type: Number, default: 0 },
    responseSumMs: { type: Number, default: 0 },
    averageResponseMs: { type: Number, default: null },
    completedTasks: { type: Number, default: 0 },
    failedTasks: { type: Number, default: 0 },
    sortRating: { type: Number, default: 0 },
    sortPriceLow: { type: Number, default: NO_PRICE_LOW },
    sortPriceHigh: { type: Number, default: NO_PRICE_HIGH },
    sortResponse: { type: Number, default: NO_RESPONSE },
    sampleTaskId: { type: String, default: null },
    sampleFailures: { type: Number, default: 0 },
    sampleDeliverables: { type: [sampleSchema], default: [] },
    ...appliedEventsSchemaFields,
    ...outboxSchemaFields,
  },
  { collection: 'listings', minimize: false, timestamps: true },
);
// One index per sort (listed listings, then the sort key, then the id tiebreak) and per filter.
listingSchema.index({ status: 1, popularity: -1, _id: 1 });
listingSchema.index({ status: 1, sortRating: -1, _id: 1 });
listingSchema.index({ status: 1, sortPriceLow: 1, _id: 1 });
listingSchema.index({ status: 1, sortPriceHigh: -1, _id: 1 });
listingSchema.index({ status: 1, sortResponse: 1, _id: 1 });
listingSchema.index({ status: 1, listedAt: -1, _id: 1 });
listingSchema.index({ category: 1, status: 1 });
listingSchema.index({ industryKeys: 1 });
listingSchema.index({ capabilityNames: 1 });
listingSchema.index({ minPriceInr: 1 });
listingSchema.index({ handle: 1 });
listingSchema.index({ sampleTaskId: 1 });
outboxIndex(listingSchema);

export type ListingModel = Model<ListingRecord>;
export const listingModel = (connection: Connection): ListingModel =>
  connection.model<ListingRecord>('Listing', listingSchema);
