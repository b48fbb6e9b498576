import { z } from 'zod';
import type { BusinessContext } from '@waooaw/shared';
import { businessContextSchema } from '@waooaw/shared';
import type { ManifestCapability } from '../manifest';
import type { SkillRequest, SkillResult } from './types';
import { SkillInputError } from './types';

// One definition of the business context, shared with the marketplace that validates trials with it.
export { businessContextSchema } from '@waooaw/shared';
export type { BusinessContext } from '@waooaw/shared';

/** A request to a skill: free text, optionally with the business it is for and extra details. */
export interface SkillAsk {
  request: string;
  business?: BusinessContext;
  details: Record<string, unknown>;
}

const askSchema = z.object({
  request: z.string().trim().min(3, 'request must say what is wanted (at least 3 characters)'),
  businessContext: businessContextSchema.optional(),
  details: z.record(z.string(), z.unknown()).default({}),
});

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || 'input'}: ${i.message}`).join('; ');
}

/** Reads a skill's input: a string is the request itself; an object has `request` (and maybe `businessContext`). */
export function readAsk(input: unknown): SkillAsk {
  if (typeof input === 'string') {
    if (input.trim().length < 3)
      throw new SkillInputError('input: the request must be at least 3 characters');
    return { request: input.trim(), details: {} };
  }
  const parsed = askSchema.safeParse(input);
  if (!parsed.success) throw new SkillInputError(describeIssues(parsed.error));
  return {
    request: parsed.data.request,
    details: parsed.data.details,
    ...(parsed.data.businessContext ? { business: parsed.data.businessContext } : {}),
  };
}

/** Reads the business context of a trial's first task (`{ businessContext }` or the context itself). */
export function readBusinessContext(input: unknown): BusinessContext {
  const candidate =
    typeof input === 'object' && input !== null && 'businessContext' in input ? input.businessContext : input;
  const parsed = businessContextSchema.safeParse(candidate);
  if (!parsed.success) throw new SkillInputError(describeIssues(parsed.error));
  return parsed.data;
}

export interface Section {
  heading: string;
  lines: string[];
}

/** Renders a markdown deliverable: title, a context line, then sections of bullet points. */
export function markdown(title: string, intro: string, sections: Section[]): string {
  const body = sections.map((s) => [`## ${s.heading}`, '', ...s.lines.map((l) => `- ${l}`)].join('\n'));
  return [`# ${title}`, '', intro, '', ...body.flatMap((b) => [b, ''])].join('\n').trimEnd() + '\n';
}

export const describeBusiness = (b: BusinessContext) =>
  [b.businessName, b.industry ? `(${b.industry})` : '', b.city ? `in ${b.city}` : '']
    .filter(Boolean)
    .join(' ');

/** What a template contributes: its angle on a first deliverable and on any other request. */
export interface Playbook {
  firstDeliverable(business: BusinessContext, request: SkillRequest): { title: string; sections: Section[] };
  respond(ask: SkillAsk, capability: ManifestCapability, request: SkillRequest): Section[];
}

/**
 * Runs a customer-facing skill with a template's playbook. The trial's first deliverable works from
 * the business context; every other capability answers its request with the playbook's sections.
 */
export function runPlaybook(playbook: Playbook, request: SkillRequest): SkillResult {
  const { manifest, capability } = request;
  const date = request.context.now.toISOString().slice(0, 10);
  if (capability.name === 'trial.first-deliverable') {
    const business = readBusinessContext(request.input);
    const { title, sections } = playbook.firstDeliverable(business, request);
    return {
      format: 'text/markdown',
      title,
      content: markdown(
        title,
        `Prepared by ${manifest.name} (${manifest.specialization}) for ${describeBusiness(business)} on ${date}.`,
        sections,
      ),
      summary: `${title} for ${business.businessName}`,
    };
  }
  const ask = readAsk(request.input);
  const title = `${capability.description.replace(/\.$/, '')}: ${ask.request}`;
  const forWhom = ask.business ? ` for ${describeBusiness(ask.business)}` : '';
  return {
    format: 'text/markdown',
    title,
    content: markdown(
      title,
      `Prepared by ${manifest.name}${forWhom} on ${date} (${capability.name} ${capability.version}).`,
      playbook.respond(ask, capability, request),
    ),
    summary: `${capability.name}: ${ask.request}`,
  };
}
