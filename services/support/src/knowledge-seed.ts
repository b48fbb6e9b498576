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
  {
    id: 'kb-trial-cancel',
    title: 'Cancel a trial before it converts',
    body: 'Open My agents, choose the agent on trial and select Cancel trial before the last trial day. You keep every deliverable and are not charged.',
    tags: ['trial', 'cancel', 'billing'],
  },
  {
    id: 'kb-refund',
    title: 'Refund rules for cancelled trials and subscriptions',
    body: 'Trials are free, so there is nothing to refund. A paid subscription cancelled within 7 days of renewal is refunded in full to the original payment method within 5-7 working days.',
    tags: ['refund', 'billing', 'cancel'],
  },
  {
    id: 'kb-gst-invoice',
    title: 'Download GST invoices',
    body: 'Invoices with your GSTIN are under Billing, Invoices. Add or change the GSTIN before the billing date so it appears on the invoice.',
    tags: ['gst', 'invoice', 'billing'],
  },
  {
    id: 'kb-billing-email',
    title: 'Change the billing email',
    body: 'Go to Billing, Contacts and edit the billing email. Invoices and payment receipts go to the new address from the next cycle.',
    tags: ['billing', 'email', 'account'],
  },
  {
    id: 'kb-plan-change',
    title: 'Agent stopped replying after a plan change',
    body: 'When a plan changes the agent is re-provisioned, which takes up to 10 minutes. If it still does not reply, check the plan includes the capability you use.',
    tags: ['plan', 'agent', 'troubleshooting'],
  },
  {
    id: 'kb-webhook-401',
    title: 'Webhooks return 401 Unauthorized',
    body: 'A 401 from your endpoint means the signing secret or API key changed. Rotate the secret in Integrations and update your endpoint.',
    tags: ['webhook', 'integration', 'auth'],
  },
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
