import { z } from 'zod';
import { readAsk } from './common';
import type { SkillRequest, SkillResult } from './types';
import { SkillInputError, SkillUnavailableError } from './types';

const yamlInput = z.object({ yaml: z.string().min(1, 'yaml must hold an agent definition') });

function readYaml(input: unknown): string {
  const parsed = yamlInput.safeParse(typeof input === 'string' ? { yaml: input } : input);
  if (!parsed.success) throw new SkillInputError(parsed.error.issues.map((i) => i.message).join('; '));
  return parsed.data.yaml;
}

const json = (title: string, summary: string, body: Record<string, unknown>): SkillResult => ({
  format: 'application/json',
  title,
  summary,
  content: JSON.stringify(body, null, 2),
});

/**
 * Platform Centre-of-Excellence skills. "Agent creates agent": the factory skills go through the
 * platform's factory; the others produce a structured operational assessment of the request.
 */
export async function perform({ manifest, capability, input, context }: SkillRequest): Promise<SkillResult> {
  switch (capability.name) {
    case 'factory.create-agent': {
      const platform = context.platform;
      if (!platform?.submitAgentDefinition)
        throw new SkillUnavailableError(
          'factory.create-agent needs the platform factory, which this runtime did not provide',
        );
      const build = await platform.submitAgentDefinition(readYaml(input));
      return json('Agent build submitted', `build ${build.buildId} is ${build.status}`, { build });
    }
    case 'factory.validate-definition': {
      const platform = context.platform;
      if (!platform?.validateAgentDefinition)
        throw new SkillUnavailableError(
          'factory.validate-definition needs the platform factory, which this runtime did not provide',
        );
      const result = await platform.validateAgentDefinition(readYaml(input));
      return json(
        'Definition check',
        result.valid ? 'the definition is valid' : `${result.problems.length} problem(s)`,
        result,
      );
    }
    default: {
      const ask = readAsk(input);
      return json(
        `${capability.description.replace(/\.$/, '')}`,
        `${manifest.name} assessed: ${ask.request}`,
        {
          agent: manifest.handle,
          capability: `${capability.name}@${capability.version}`,
          request: ask.request,
          details: ask.details,
          assessedAt: context.now.toISOString(),
          checklist: [
            'Scope and owners identified',
            'Risks listed with severity',
            'Recommendation with next action',
          ],
        },
      );
    }
  }
}
