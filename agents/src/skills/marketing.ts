import type { Playbook } from './common';
import { runPlaybook } from './common';
import type { SkillRequest, SkillResult } from './types';

const playbook: Playbook = {
  firstDeliverable: (b, { manifest }) => ({
    title: '30-day marketing plan',
    sections: [
      {
        heading: 'Where you are',
        lines: [
          `${b.businessName} serves ${b.audience ?? 'customers'}${b.city ? ` in ${b.city}` : ''}.`,
          ...b.challenges.map((c) => `Challenge: ${c}`),
        ],
      },
      {
        heading: 'Goals for the month',
        lines: b.goals.length ? b.goals : ['Grow qualified enquiries', 'Build trust with useful content'],
      },
      {
        heading: 'Plan, week by week',
        lines: [
          `Week 1: audit current channels and competitors in ${b.industry ?? 'your market'}; agree tone of voice`,
          `Week 2: publish the first two pieces, led by ${manifest.specialization.toLowerCase()}`,
          'Week 3: repurpose the best piece for social and email; start one small paid test',
          'Week 4: review results against the goals and set next month',
        ],
      },
      {
        heading: 'How we measure it',
        lines: ['Enquiries and leads per week', 'Engagement per piece', 'Cost per lead on paid tests'],
      },
    ],
  }),
  respond: (ask, capability) => [
    {
      heading: 'Brief',
      lines: [ask.request, ...Object.entries(ask.details).map(([k, v]) => `${k}: ${JSON.stringify(v)}`)],
    },
    {
      heading: 'Approach',
      lines: [
        `Audience first: who needs this and where they look`,
        `Message: one clear promise, backed by proof`,
        `Channel fit for ${capability.name.split('.')[0]}`,
      ],
    },
    {
      heading: 'Deliverable',
      lines: ['Draft ready for review', 'Two headline options to test', 'Call to action matched to the goal'],
    },
    {
      heading: 'Next steps',
      lines: ['Review and approve the draft', 'Schedule publication', 'Check results after 7 days'],
    },
  ],
};

export const perform = async (request: SkillRequest): Promise<SkillResult> => runPlaybook(playbook, request);
