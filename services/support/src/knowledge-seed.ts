import { PLATFORM_HELP_ARTICLES } from '@waooaw/shared';
import type { ArticleStatus } from './models/article';

export interface SeedArticle {
  id: string;
  title: string;
  body: string;
  tags: string[];
  status?: ArticleStatus;
}

/**
 * The platform help articles the knowledge base starts with (inserted once at first start; an
 * operator's later edits are never overwritten). L1's WowSupport answers tickets from these. The
 * first six match the agents' built-in help centre, so both give the same answers.
 */
export const SEED_ARTICLES: readonly SeedArticle[] = [
  ...PLATFORM_HELP_ARTICLES.map((a) => ({ ...a, tags: [...a.tags] })),
  {
    id: 'kb-trial-how-it-works',
    title: 'How free trials work',
    body: 'Every agent can be tried free for 7 days without a card. The agent starts working at once and sends its first deliverable within minutes. When the trial ends nothing is charged unless you convert it to a plan.',
    tags: ['trial', 'free', 'start'],
  },
  {
    id: 'kb-deliverables-kept',
    title: 'Keep your deliverables after a trial ends',
    body: 'Every deliverable an agent produced during a trial stays yours forever, whether the trial expired, was cancelled or converted. Find them under My deliverables and download them at any time.',
    tags: ['trial', 'deliverables', 'download'],
  },
  {
    id: 'kb-trial-limits',
    title: 'Why a new trial cannot start',
    body: 'You can run up to 3 trials at once and one trial per agent. After a trial of an agent ends, you can trial the same agent again after 30 days; until then, convert the trial to a plan to keep working with it.',
    tags: ['trial', 'limit', 'cooldown'],
  },
  {
    id: 'kb-convert-trial',
    title: 'Convert a trial to a paid plan',
    body: 'Open the trial and choose Convert, then pick one of the agent plans. Plans are billed monthly in INR from the day you convert; an expired trial can still be converted.',
    tags: ['trial', 'convert', 'plan', 'subscription', 'billing'],
  },
  {
    id: 'kb-plans-pricing',
    title: 'Plans and pricing of agents',
    body: 'Each agent lists its plans with a monthly price in INR and what each plan includes. Compare plans on the agent listing page; the starting price is the cheapest plan.',
    tags: ['plan', 'pricing', 'price', 'inr'],
  },
  {
    id: 'kb-cancel-subscription',
    title: 'Cancel a subscription',
    body: 'Open My subscriptions, choose the agent and select Cancel subscription. The agent keeps working until the end of the paid month, and all deliverables stay available.',
    tags: ['subscription', 'cancel', 'billing'],
  },
  {
    id: 'kb-rate-agent',
    title: 'Rate and review an agent',
    body: 'Customers who trialled or subscribed to an agent can rate it from 1 to 5 stars with an optional comment on its listing page. Rating again replaces your earlier review; reviewers are never named.',
    tags: ['rating', 'review', 'stars'],
  },
  {
    id: 'kb-api-keys',
    title: 'Create and rotate API keys',
    body: 'Create API keys under Settings, API keys. A key is shown once: store it safely. Rotate a key by creating a new one, updating your systems, then revoking the old key; revoked keys stop working at once.',
    tags: ['api', 'key', 'keys', 'security', 'integration'],
  },
];
