import { readFileSync } from 'node:fs';
import path from 'node:path';

interface LockPackage {
  optionalDependencies?: Record<string, string>;
}

/**
 * `npm install` silently skips an optional dependency the registry cannot serve (our registry
 * mirror lacks some platform binaries of some releases), but `npm ci` on a fresh clone then refuses
 * the lockfile. Pin versions whose platform packages all exist (see package.json `overrides`).
 */
it('package-lock.json lists every optional dependency, so `npm ci` accepts it', () => {
  const lock = JSON.parse(readFileSync(path.resolve(__dirname, '../../../package-lock.json'), 'utf8')) as {
    packages: Record<string, LockPackage>;
  };
  const missing: string[] = [];
  for (const [location, pkg] of Object.entries(lock.packages)) {
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) {
      if (!lock.packages[`node_modules/${dep}`] && !lock.packages[`${location}/node_modules/${dep}`]) {
        missing.push(`${location.replace(/^.*node_modules\//, '')} -> ${dep}`);
      }
    }
  }
  expect(missing).toEqual([]);
});
