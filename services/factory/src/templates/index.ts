import type { TemplateId } from '../domain/definition';

/** A factory template: which skill library the generated agent runs, and how its test exercises it. */
export interface AgentTemplate {
  id: TemplateId;
  name: string;
  description: string;
  kind: 'PLATFORM' | 'CUSTOMER';
  category: 'PLATFORM' | 'MARKETING' | 'EDUCATION' | 'SALES';
  /** The business context the generated test gives the trial's first deliverable. */
  sampleBusiness: Record<string, unknown>;
}

export const TEMPLATES: readonly AgentTemplate[] = [
  {
    id: 'platform-coe',
    name: 'Platform CoE agent',
    description:
      'A Centre-of-Excellence agent that runs part of the platform; its skills return structured JSON assessments or call platform services.',
    kind: 'PLATFORM',
    category: 'PLATFORM',
    sampleBusiness: { businessName: 'WAOOAW platform' },
  },
  {
    id: 'marketing',
    name: 'Marketing agent',
    description:
      'A customer-facing marketing agent: its trial opens with a 30-day marketing plan; other skills return markdown drafts.',
    kind: 'CUSTOMER',
    category: 'MARKETING',
    sampleBusiness: {
      businessName: 'Sharma Dental Care',
      industry: 'healthcare',
      city: 'Pune',
      audience: 'families',
      goals: ['Fill weekday appointments'],
    },
  },
  {
    id: 'education',
    name: 'Education agent',
    description:
      'A tutor or education guide: its trial opens with a personalised learning plan; other skills explain and set practice.',
    kind: 'CUSTOMER',
    category: 'EDUCATION',
    sampleBusiness: {
      businessName: 'Aanya Iyer',
      industry: 'education',
      city: 'Chennai',
      audience: 'Class 11 student, JEE aspirant',
      goals: ['Score 95+ in physics'],
    },
  },
  {
    id: 'sales',
    name: 'Sales agent',
    description:
      'A sales agent: its trial opens with an ideal customer profile and outreach sequence; other skills coach deals.',
    kind: 'CUSTOMER',
    category: 'SALES',
    sampleBusiness: {
      businessName: 'CloudLedger',
      industry: 'b2b-saas',
      city: 'Bengaluru',
      audience: 'CFOs of mid-size firms',
      goals: ['20 demos a month'],
    },
  },
];

export const templateById = (id: TemplateId): AgentTemplate => TEMPLATES.find((t) => t.id === id)!;
