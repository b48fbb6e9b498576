import semver from 'semver';
import { badUserInput } from '@waooaw/shared';

const pad = (n: number) => String(n).padStart(6, '0');

/**
 * A version as a string that sorts like the version (major.minor.patch, zero-padded), so the
 * database can compare versions; prereleases are flagged separately.
 */
export function versionKey(version: string): { versionKey: string; prerelease: boolean } {
  const v = semver.parse(version);
  if (!v) throw badUserInput(`"${version}" is not a semver version (expected e.g. 1.2.0)`);
  return {
    versionKey: `${pad(v.major)}.${pad(v.minor)}.${pad(v.patch)}`,
    prerelease: v.prerelease.length > 0,
  };
}

const OPERATORS = { '<': '$lt', '<=': '$lte', '>': '$gt', '>=': '$gte' } as const;

export type VersionCondition = Record<string, unknown>;

/**
 * Translates a semver range into database conditions on a capability's `versionKey`: a list of
 * alternatives (the range's `||` sets), each a conjunction of comparisons. Like
 * `semver.satisfies`, prerelease versions never match a range. Throws BAD_USER_INPUT for a
 * malformed range.
 */
export function rangeConditions(range: string): VersionCondition[] {
  let parsed: semver.Range;
  try {
    parsed = new semver.Range(range);
  } catch {
    throw badUserInput(`"${range}" is not a semver range (expected e.g. ^1.2 or >=2 <3)`, {
      field: 'versionRange',
    });
  }
  return parsed.set.map((comparators) => {
    const condition: Record<string, string> = {};
    const and: VersionCondition[] = [];
    for (const comparator of comparators) {
      if (comparator.value === '') continue; // "any version"
      const key = `${pad(comparator.semver.major)}.${pad(comparator.semver.minor)}.${pad(comparator.semver.patch)}`;
      if (comparator.operator === '' || comparator.operator === '=') {
        and.push({ versionKey: key });
        continue;
      }
      const op = OPERATORS[comparator.operator];
      // `<2.0.0-0` (from ^1) excludes 2.0.0 itself: with prereleases excluded it is `<2.0.0`.
      if (condition[op] === undefined) condition[op] = key;
      else and.push({ versionKey: { [op]: key } });
    }
    const parts: VersionCondition[] = [{ prerelease: false }, ...and];
    if (Object.keys(condition).length > 0) parts.push({ versionKey: condition });
    return parts.length === 1 ? parts[0]! : { $and: parts };
  });
}
