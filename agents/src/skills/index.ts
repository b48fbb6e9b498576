import type { AgentManifest } from '../manifest';
import * as education from './education';
import * as marketing from './marketing';
import * as platformCoe from './platform-coe';
import * as sales from './sales';
import type { SkillContext, SkillResult } from './types';

const libraries = { 'platform-coe': platformCoe, marketing, education, sales } as const;

/** Runs one capability of an agent with its template's skill library. */
export function runSkill(
  manifest: AgentManifest,
  capabilityName: string,
  input: unknown,
  context: SkillContext,
): Promise<SkillResult> {
  const capability = manifest.capabilities.find((c) => c.name === capabilityName);
  if (!capability) return Promise.reject(new Error(`${manifest.handle} has no capability ${capabilityName}`));
  return libraries[manifest.template].perform({ manifest, capability, input, context });
}

export * from './types';
export { businessContextSchema } from './common';
