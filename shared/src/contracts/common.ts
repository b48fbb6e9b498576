import semver from 'semver';
import { z } from 'zod';

/** A semantic version in canonical form (`1.2.3`, `2.0.0-rc.1`). */
export const semverString = z.string().refine((value) => semver.valid(value) === value, {
  message: 'not a semver version (expected e.g. 1.2.0)',
});

/** A semver range such as `^1.2`, `>=2 <3` or `1.x`. */
export const semverRangeString = z.string().refine((value) => semver.validRange(value) !== null, {
  message: 'not a semver range (expected e.g. ^1.2 or >=2 <3)',
});

export const handleString = z
  .string()
  .regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, 'must be kebab-case: lower-case letters, digits and single dashes')
  .min(3)
  .max(64);

export const mimeType = z
  .string()
  .regex(/^[a-z]+\/[a-z0-9.+-]+$/, 'must be a MIME type such as application/json');
