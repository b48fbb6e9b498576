import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** The repository's root directory. */
export const REPO_ROOT = path.resolve(__dirname, '../../..');

/** A path relative to the repository root, with forward slashes (as git and Markdown links write them). */
export const repoPath = (absolute: string) => path.relative(REPO_ROOT, absolute).split(path.sep).join('/');

/**
 * The repository's files matching the pathspecs (relative, forward slashes): tracked files plus new
 * ones git does not ignore, so a document written but not yet added is checked too. Files deleted
 * from the working tree are left out.
 */
export function repoFiles(...pathspecs: string[]): string[] {
  const output = execFileSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', ...pathspecs],
    { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const files = new Set(output.split('\0').filter(Boolean));
  return [...files].filter((file) => existsSync(path.join(REPO_ROOT, file))).sort();
}

/**
 * Formats Markdown the way `prettier --check .` expects it, with the repository's settings. Prettier
 * runs in a child process: its API loads its plugins with dynamic import(), which jest's CommonJS
 * sandbox refuses.
 */
export function formatMarkdown(text: string, file: string): string {
  const prettier = require.resolve('prettier/bin/prettier.cjs');
  return execFileSync(process.execPath, [prettier, '--stdin-filepath', file], {
    cwd: REPO_ROOT,
    input: text,
    encoding: 'utf8',
  });
}
