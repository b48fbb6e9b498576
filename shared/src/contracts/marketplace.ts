import { z } from 'zod';
import { defineEvent } from '../kafka/events';
import { AGENT_CATEGORIES } from './identity';

/**
 * The customer's business, as a trial starts with it. The one definition: the marketplace validates
 * `startTrial`'s input with it and the agents' `trial.first-deliverable` skills read their input with it.
 */
export const businessContextSchema = z.object({
  businessName: z.string().trim().min(1, 'businessName is required'),
  industry: z.string().trim().min(1).optional(),
  city: z.string().trim().min(1).optional(),
  audience: z.string().trim().min(1).optional(),
  goals: z.array(z.string().trim().min(1)).default([]),
  challenges: z.array(z.string().trim().min(1)).default([]),
  notes: z.string().optional(),
});
export type BusinessContext = z.output<typeof businessContextSchema>;

/** The capability every CUSTOMER agent has: a trial's first deliverable, from the business context. */
export const TRIAL_FIRST_DELIVERABLE = 'trial.first-deliverable';

/** PROVISIONING -> ACTIVE -> EXPIRED | CANCELLED | CONVERTED (PROVISIONING may also end CANCELLED). */
export const TRIAL_STATUSES = ['PROVISIONING', 'ACTIVE', 'EXPIRED', 'CANCELLED', 'CONVERTED'] as const;
export type TrialStatus = (typeof TRIAL_STATUSES)[number];

export const ACTIVITY_KINDS = [
  'AGENT_JOINED',
  'TRIAL_STARTED',
  'DELIVERABLE_READY',
  'REVIEW_POSTED',
  'SUBSCRIPTION_STARTED',
  'AGENT_UNAVAILABLE',
  'TRIAL_REMINDER',
  'TRIAL_ENDED',
] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

/** The persona of a CUSTOMER agent (identity's `metadata.persona`, from the definition YAML). */
export const agentPersonaSchema = z.object({
  tagline: z.string().default(''),
  statusLine: z.string().default(''),
});

/** One paid plan of a CUSTOMER agent (identity's `metadata.pricing.plans[]`); prices are monthly, in INR. */
export const pricePlanSchema = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  monthlyPrice: z.number().int().min(0),
  features: z.array(z.string()).default([]),
});

/** identity's `metadata.pricing` of a CUSTOMER agent. */
export const agentPricingSchema = z.object({
  currency: z.literal('INR'),
  trialDays: z.number().int().min(1).max(90).default(7),
  plans: z.array(pricePlanSchema).default([]),
});

export const marketplaceEvents = {
  /**
   * Something happened in the marketplace that the live feed shows. `message` never names the
   * customer and `activityId` is opaque; `customerId`, `trialId` and `deliverableId` are there for
   * consumers that notify the customer themselves, and are not in the public ActivityEvent type (the
   * gateway's activityFeed delivers only the fields its SDL names).
   */
  activityCreated: defineEvent(
    'marketplace.activity.created',
    z.object({
      activityId: z.string(),
      kind: z.enum(ACTIVITY_KINDS),
      message: z.string(),
      agentId: z.string(),
      handle: z.string(),
      category: z.enum(AGENT_CATEGORIES),
      customerId: z.string().nullable(),
      trialId: z.string().nullable(),
      deliverableId: z.string().nullable(),
      at: z.string(),
    }),
  ),
  /** A trial changed status. */
  trialUpdated: defineEvent(
    'marketplace.trial.updated',
    z.object({
      trialId: z.string(),
      customerId: z.string(),
      agentId: z.string(),
      status: z.enum(TRIAL_STATUSES),
      at: z.string(),
    }),
  ),
};
