// What a capability is and how it reads its request: the ask and the typed fields of its details.
import { readAsk } from '../../common';
import type { SkillAsk } from '../../common';
import type { SkillRequest, SkillResult } from '../../types';
import { SkillInputError } from '../../types';

/** One capability's specific implementation: takes the whole request, returns the deliverable. */
export type CapabilityImpl = (request: SkillRequest) => SkillResult | Promise<SkillResult>;

/** Reads the ask of a request (string or `{ request, businessContext?, details? }`). */
export const askOf = (request: SkillRequest): SkillAsk => readAsk(request.input);

/** A string field of details, if present and non-empty. */
export function detailString(details: Record<string, unknown>, key: string): string | undefined {
  const v = details[key];
  return typeof v === 'string' && v.trim() ? v.trim() : undefined;
}

/** A number field of details (a numeric string counts), if present. */
export function detailNumber(details: Record<string, unknown>, key: string): number | undefined {
  const v = details[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

/** A string-list field of details (a comma-separated string counts). */
export function detailList(details: Record<string, unknown>, key: string): string[] {
  const v = details[key];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x.trim() !== '');
  if (typeof v === 'string')
    return v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  return [];
}

/** An array-of-objects field of details, each item a plain record; throws if it is there but malformed. */
export function detailRecords(details: Record<string, unknown>, key: string): Record<string, unknown>[] {
  const v = details[key];
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'object' && x !== null && !Array.isArray(x)))
    throw new SkillInputError(`details.${key} must be a list of objects`);
  return v as Record<string, unknown>[];
}

/** Reads a field of a record as a string ('' when absent). */
export const str = (r: Record<string, unknown>, key: string): string => {
  const v = r[key];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
};

/** Reads a field of a record as a number (NaN-safe: undefined when absent or not numeric). */
export const num = (r: Record<string, unknown>, key: string): number | undefined => {
  const v = r[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
};
