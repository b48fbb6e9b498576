import semver from 'semver';
import { rangeConditions, versionKey } from './version-range';

/** Evaluates the generated conditions the way the database would, against one version. */
function matches(conditions: Record<string, unknown>[], version: string): boolean {
  const doc = versionKey(version);
  const test = (cond: Record<string, unknown>): boolean =>
    Object.entries(cond).every(([field, expected]) => {
      if (field === '$and') return (expected as Record<string, unknown>[]).every(test);
      const actual = doc[field as keyof typeof doc];
      if (typeof expected !== 'object' || expected === null) return actual === expected;
      return Object.entries(expected as Record<string, string>).every(([op, v]) => {
        const a = actual as string;
        return op === '$lt' ? a < v : op === '$lte' ? a <= v : op === '$gt' ? a > v : a >= v;
      });
    });
  return conditions.some(test);
}

describe('semver ranges as database conditions', () => {
  const versions = [
    '0.1.0',
    '0.9.9',
    '1.0.0',
    '1.2.0',
    '1.2.9',
    '1.3.0',
    '1.10.0',
    '2.0.0',
    '2.0.1',
    '2.5.0',
    '3.0.0',
    '10.0.0',
    '1.2.0-beta.1',
  ];
  const ranges = [
    '^1.2',
    '>=2 <3',
    '~1.2.0',
    '1.x',
    '*',
    '1.2.0',
    '>=1.3.0',
    '<1.0.0',
    '^0.1.0',
    '1.2 || >=3',
    '>1.2.0 <=2.0.1',
    '^2',
  ];

  it.each(ranges)('%s selects exactly what semver.satisfies selects', (range) => {
    const conditions = rangeConditions(range);
    for (const version of versions) {
      expect([version, matches(conditions, version)]).toEqual([version, semver.satisfies(version, range)]);
    }
  });

  it('orders versions numerically, not alphabetically', () => {
    expect(versionKey('1.10.0').versionKey > versionKey('1.9.0').versionKey).toBe(true);
  });

  it('refuses a malformed range with BAD_USER_INPUT', () => {
    expect(() => rangeConditions('not a range!')).toThrow(/not a semver range/);
  });
});
