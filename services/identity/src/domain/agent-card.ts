import type { Capability } from '@waooaw/shared';

export interface CardSource {
  _id: string;
  handle: string;
  name: string;
  description: string;
  version: string;
  capabilities: Capability[];
}

const union = (lists: string[][]) => [...new Set(lists.flat())].sort();

/**
 * The agent as an A2A AgentCard (https://a2a-protocol.org), so other agents can discover what it
 * does. Default modes are the union of its skills' modes. The platform keeps every task's state
 * history (stateTransitionHistory); streaming and push notifications are not offered over A2A yet.
 */
export function toAgentCard(agent: CardSource, baseUrl: string) {
  return {
    protocolVersion: '0.3.0',
    name: agent.name,
    description: agent.description,
    url: `${baseUrl.replace(/\/$/, '')}/agents/${agent.handle}`,
    version: agent.version,
    provider: { organization: 'WAOOAW', url: baseUrl },
    capabilities: { streaming: false, pushNotifications: false, stateTransitionHistory: true },
    defaultInputModes: union(agent.capabilities.map((c) => c.inputModes)),
    defaultOutputModes: union(agent.capabilities.map((c) => c.outputModes)),
    skills: agent.capabilities.map((c) => ({
      id: c.name,
      name: c.name,
      description: c.description,
      tags: c.tags,
      examples: c.examples,
      inputModes: c.inputModes,
      outputModes: c.outputModes,
    })),
  };
}
