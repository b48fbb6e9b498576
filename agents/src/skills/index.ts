import type { AgentManifest } from '../manifest';
import * as education from './education';
import * as marketing from './marketing';
import * as platformCoe from './platform-coe';
import * as sales from './sales';
import { capabilityRegistry, firstDeliverable } from './capabilities';
import type { SkillContext, SkillResult } from './types';

const libraries = { 'platform-coe': platformCoe, marketing, education, sales } as const;

/**
 * Runs one capability of an agent: the capability's specific implementation when one is registered
 * (and the agent-specific first deliverable for trials), else the template's playbook.
 */
export async function runSkill(
  manifest: AgentManifest,
  capabilityName: string,
  input: unknown,
  context: SkillContext,
): Promise<SkillResult> {
  const capability = manifest.capabilities.find((c) => c.name === capabilityName);
  if (!capability) throw new Error(`${manifest.handle} has no capability ${capabilityName}`);
  const request = { manifest, capability, input, context };
  if (capability.name === 'trial.first-deliverable') return firstDeliverable(request);
  const specific = capabilityRegistry[capability.name];
  return specific ? specific(request) : libraries[manifest.template].perform(request);
}

export * from './types';
export { businessContextSchema } from './common';
export { capabilityRegistry, searchManifests } from './capabilities';
