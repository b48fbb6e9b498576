import type { Playbook } from './common';
import { runPlaybook } from './common';
import type { SkillRequest, SkillResult } from './types';

const playbook: Playbook = {
  firstDeliverable: (b, { manifest }) => ({
    title: 'Ideal customer profile and outreach sequence',
    sections: [
      {
        heading: 'Ideal customer profile',
        lines: [
          `Buyers: ${b.audience ?? 'decision makers who feel the problem most'}`,
          `Market: ${b.industry ?? 'your segment'}${b.city ? `, starting with ${b.city}` : ''}`,
          ...b.challenges.map((c) => `Pain we address: ${c}`),
        ],
      },
      {
        heading: 'Targets',
        lines: b.goals.length
          ? b.goals
          : ['Book qualified meetings every week', 'Shorten time from first touch to demo'],
      },
      {
        heading: 'Five-touch sequence',
        lines: [
          `Day 1: personalised email tied to a trigger (${manifest.specialization})`,
          'Day 3: LinkedIn connection with a one-line insight',
          'Day 5: follow-up email with a short case study',
          'Day 8: call with a clear meeting ask',
          'Day 12: break-up email that leaves the door open',
        ],
      },
      {
        heading: 'Pipeline metrics',
        lines: ['Reply rate', 'Meetings booked', 'Meeting-to-opportunity rate'],
      },
    ],
  }),
  respond: (ask) => [
    { heading: 'Situation', lines: [ask.request] },
    {
      heading: 'Recommendation',
      lines: [
        'Qualify on budget, authority, need and timing',
        'Lead with the outcome the buyer cares about',
        'Agree a concrete next step with a date',
      ],
    },
    {
      heading: 'Talk track',
      lines: [
        'Opening: why now',
        'Discovery: three questions about impact',
        'Close: propose the next meeting',
      ],
    },
  ],
};

export const perform = async (request: SkillRequest): Promise<SkillResult> => runPlaybook(playbook, request);
