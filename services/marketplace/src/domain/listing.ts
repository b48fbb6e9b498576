import type { BusinessContext, EventData, identityEvents } from '@waooaw/shared';
import { agentPersonaSchema, agentPricingSchema } from '@waooaw/shared';
import type { ListingRecord, PlanRecord } from '../models/listing';
import { NO_PRICE_HIGH, NO_PRICE_LOW } from '../models/listing';

export const DEFAULT_TRIAL_DAYS = 7;

/** The first sentence of a description (the whole of it, shortened, when it has no sentence end). */
export function headlineOf(description: string): string {
  const text = description.trim().replace(/\s+/g, ' ');
  const match = /^(.+?[.!?])(?=\s|$)/.exec(text);
  const sentence = match?.[1] ?? text;
  return sentence.length > 200 ? `${sentence.slice(0, 197).trimEnd()}...` : sentence;
}

/** What free-text search looks in, lower-case; capability names also split into words. */
export function searchTextOf(fields: {
  name: string;
  handle: string;
  specialization: string;
  tags: string[];
  industries: string[];
  capabilityNames: string[];
}): string {
  const capabilityWords = fields.capabilityNames.map((c) => `${c} ${c.replace(/[.-]/g, ' ')}`);
  return [
    fields.name,
    fields.handle,
    fields.specialization,
    ...fields.tags,
    ...fields.tags.map((t) => t.replace(/-/g, ' ')),
    ...fields.industries,
    ...capabilityWords,
  ]
    .join(' ')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

/** Reads the persona and pricing out of identity's free-form metadata, tolerating what is missing. */
export function readMetadata(metadata: Record<string, unknown>): {
  persona: { tagline: string; statusLine: string };
  plans: PlanRecord[];
  trialDays: number;
} {
  const persona = agentPersonaSchema.safeParse(metadata.persona ?? {});
  const pricing = agentPricingSchema.safeParse(metadata.pricing);
  return {
    persona: persona.success ? persona.data : { tagline: '', statusLine: '' },
    plans: pricing.success
      ? pricing.data.plans.map((p) => ({
          id: p.id,
          name: p.name,
          monthlyPriceInr: p.monthlyPrice,
          features: p.features,
        }))
      : [],
    trialDays: pricing.success ? pricing.data.trialDays : DEFAULT_TRIAL_DAYS,
  };
}

/** The fields of a listing that a registration (of a version at least as high as the last) sets. */
export function listingFieldsFromRegistration(
  data: EventData<typeof identityEvents.agentRegistered>,
): Partial<ListingRecord> {
  const { persona, plans, trialDays } = readMetadata(data.metadata);
  const capabilityNames = data.capabilities.map((c) => c.name);
  const minPriceInr = plans.length > 0 ? Math.min(...plans.map((p) => p.monthlyPriceInr)) : null;
  return {
    registered: true,
    handle: data.handle,
    name: data.name,
    description: data.description,
    headline: headlineOf(data.description || data.specialization),
    persona,
    category: data.category,
    specialization: data.specialization,
    industries: data.industries,
    industryKeys: data.industries.map((i) => i.trim().toLowerCase()),
    tags: data.tags,
    capabilities: data.capabilities.map((c) => ({ name: c.name, version: c.version })),
    capabilityNames,
    version: data.version,
    plans,
    minPriceInr,
    sortPriceLow: minPriceInr ?? NO_PRICE_LOW,
    sortPriceHigh: minPriceInr ?? NO_PRICE_HIGH,
    trialDays,
    searchText: searchTextOf({
      name: data.name,
      handle: data.handle,
      specialization: data.specialization,
      tags: data.tags,
      industries: data.industries,
      capabilityNames,
    }),
  };
}

/** HEALTHY and DEGRADED agents can start work now; UNHEALTHY and UNKNOWN cannot. */
export const isAvailable = (health: string) => health === 'HEALTHY' || health === 'DEGRADED';

const DEMO_BUSINESSES: Record<string, Omit<BusinessContext, 'industry'>> = {
  healthcare: {
    businessName: 'Sunrise Family Clinic',
    city: 'Pune',
    audience: 'families and working professionals nearby',
    goals: ['more appointment bookings', 'trust in the clinic'],
    challenges: ['patients compare clinics online before calling'],
  },
  education: {
    businessName: 'Bright Minds Tutorials',
    city: 'Bengaluru',
    audience: 'CBSE students in classes 8-12 and their parents',
    goals: ['more enrolments for the new batch'],
    challenges: ['students lose motivation before exams'],
  },
  retail: {
    businessName: 'Saffron Threads Boutique',
    city: 'Jaipur',
    audience: 'women aged 25-45 shopping for festive wear',
    goals: ['more online orders', 'repeat customers'],
    challenges: ['competition from large marketplaces'],
  },
};

/**
 * The fictitious business a listing's sample deliverable is made for: one of the agent's first
 * industry when there is a ready one, otherwise a generic business of that industry.
 */
export function demoBusinessFor(industries: string[]): BusinessContext {
  const industry = industries[0]?.trim() || 'services';
  const known = DEMO_BUSINESSES[industry.toLowerCase()];
  if (known) return { ...known, industry };
  const label = industry.replace(/[-_]/g, ' ');
  return {
    businessName: `Demo ${label.replace(/\b\w/g, (c) => c.toUpperCase())} Co.`,
    industry,
    city: 'Mumbai',
    audience: `customers of a growing ${label} business`,
    goals: ['reach more customers', 'grow revenue'],
    challenges: ['limited time for marketing and sales'],
    notes: 'A demo business: the marketplace shows this work as a sample.',
  };
}

/** How many sample tasks may fail before the listing stops asking (it then shows none). */
export const MAX_SAMPLE_ATTEMPTS = 3;

/**
 * The sample task's id: one per agent, version and try, so re-submitting is a no-op in orchestration
 * while a retry after a failure is a new task.
 */
export const sampleTaskId = (agentId: string, version: string, failures = 0) =>
  `sample.${agentId}.${version}${failures > 0 ? `.r${failures}` : ''}`
    .replace(/[^a-zA-Z0-9._:-]/g, '_')
    .slice(0, 200);
