// How a deliverable is written: markdown blocks, lists and tables; the JSON deliverable of platform agents.
import { describeBusiness } from '../../common';
import type { BusinessContext } from '../../common';
import type { SkillRequest, SkillResult } from '../../types';
import { isoDate } from './numbers';

/** A block of a markdown deliverable: a `##` heading and its lines, rendered as given. */
export interface Block {
  heading: string;
  lines: string[];
}

/** Prefixes each line with "- " (markdown bullets). */
export const bullets = (lines: readonly string[]): string[] => lines.map((l) => `- ${l}`);

/** Numbers each line (markdown ordered list). */
export const numbered = (lines: readonly string[]): string[] => lines.map((l, i) => `${i + 1}. ${l}`);

/** Renders a markdown table from a header row and body rows. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string[] {
  const cell = (v: string | number) => String(v).replace(/\|/g, '/');
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

/** Renders a deliverable: `# title`, one intro line, then `##` blocks (the shape every agent returns). */
export function renderMarkdown(title: string, intro: string, blocks: readonly Block[]): string {
  const body = blocks
    .filter((b) => b.lines.length > 0)
    .map((b) => [`## ${b.heading}`, '', ...b.lines].join('\n'));
  return (
    [`# ${title.replace(/\s+/g, ' ')}`, '', intro.replace(/\s+/g, ' '), '', body.join('\n\n')].join('\n') +
    '\n'
  );
}

/** Who the deliverable is for, from the ask's business context if any. */
export const forWhom = (business: BusinessContext | undefined): string =>
  business ? ` for ${describeBusiness(business)}` : '';

/** A markdown deliverable with the standard intro line (agent, customer, date, capability). */
export function markdownResult(
  request: SkillRequest,
  title: string,
  summary: string,
  blocks: readonly Block[],
  business?: BusinessContext,
): SkillResult {
  const { manifest, capability, context } = request;
  const intro = `Prepared by ${manifest.name}${forWhom(business)} on ${isoDate(context.now)} (${capability.name} ${capability.version}).`;
  return { format: 'text/markdown', title, content: renderMarkdown(title, intro, blocks), summary };
}

/** A JSON deliverable (platform agents), stamped with the agent, capability and task clock. */
export function jsonResult(
  request: SkillRequest,
  title: string,
  summary: string,
  body: Record<string, unknown>,
): SkillResult {
  const { manifest, capability, context } = request;
  const content = {
    agent: manifest.handle,
    capability: `${capability.name}@${capability.version}`,
    at: context.now.toISOString(),
    ...body,
  };
  return { format: 'application/json', title, summary, content: JSON.stringify(content, null, 2) };
}
