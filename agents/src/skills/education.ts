import type { Playbook } from './common';
import { runPlaybook } from './common';
import type { SkillRequest, SkillResult } from './types';

const playbook: Playbook = {
  firstDeliverable: (b, { manifest }) => ({
    title: 'Personalised learning plan',
    sections: [
      {
        heading: 'Learner profile',
        lines: [
          `${b.businessName}${b.audience ? `: ${b.audience}` : ''}`,
          ...b.challenges.map((c) => `Needs help with: ${c}`),
        ],
      },
      {
        heading: 'Targets',
        lines: b.goals.length ? b.goals : ['Close gaps in fundamentals', 'Build an exam-ready routine'],
      },
      {
        heading: 'First two weeks',
        lines: [
          `Diagnostic session to map strengths and gaps (${manifest.specialization})`,
          'Daily 45-minute practice block with spaced revision',
          'Two timed mini-tests with worked solutions',
          'Weekly progress note for learner and parents',
        ],
      },
      {
        heading: 'How progress is tracked',
        lines: ['Accuracy and speed per topic', 'Revision streak', 'Mock-test score trend'],
      },
    ],
  }),
  respond: (ask) => [
    { heading: 'Question', lines: [ask.request] },
    {
      heading: 'Step-by-step explanation',
      lines: [
        'Restate what is given and what is asked',
        'Choose the concept that links them',
        'Work it through one step at a time',
        'Check the answer against the question',
      ],
    },
    {
      heading: 'Practice',
      lines: ['Two similar problems at the same level', 'One harder variant for stretch'],
    },
  ],
};

export const perform = async (request: SkillRequest): Promise<SkillResult> => runPlaybook(playbook, request);
