import type { z } from 'zod';
import { badUserInput } from './errors';

/** `capabilities.2.version` style path of a zod issue. */
export const issuePath = (path: readonly PropertyKey[]) => path.map(String).join('.');

/**
 * Validates user input with a zod schema; failures become one BAD_USER_INPUT error whose message
 * lists every problem (`capabilities.2.version: not a semver version`) and whose `fields` maps each
 * path to its problem.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what = 'input'): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const fields: Record<string, string> = {};
  for (const issue of result.error.issues) fields[issuePath(issue.path) || what] = issue.message;
  const list = Object.entries(fields).map(([path, message]) => `${path}: ${message}`);
  throw badUserInput(`Invalid ${what}: ${list.join('; ')}`, { fields });
}
