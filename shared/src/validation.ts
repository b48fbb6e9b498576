import type { z } from 'zod';
import { badUserInput } from './errors';

/** `capabilities.2.version` style path of a zod issue. */
export const issuePath = (path: readonly PropertyKey[]) => path.map(String).join('.');

/**
 * Validates user input with a zod schema; failures become one BAD_USER_INPUT error whose message
 * lists every problem (`capabilities.2.version: not a semver version`) and whose `fields` maps each
 * path to its problem. A text longer than its schema allows is also named with its limit
 * (`field` and `maxLength`, the first such text), so a client can tell how much to cut.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what = 'input'): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const fields: Record<string, string> = {};
  let tooLong: { field: string; maxLength: number } | undefined;
  for (const issue of result.error.issues) {
    const path = issuePath(issue.path) || what;
    fields[path] = issue.message;
    if (!tooLong && issue.code === 'too_big' && issue.origin === 'string')
      tooLong = { field: path, maxLength: Number(issue.maximum) };
  }
  const list = Object.entries(fields).map(([path, message]) => `${path}: ${message}`);
  throw badUserInput(`Invalid ${what}: ${list.join('; ')}`, { fields, ...tooLong });
}
