// Finds the links of a Markdown document and checks that each one leads to a file (and heading) of
// the repository. A small reader of the Markdown this repository writes, not a full CommonMark parser:
// inline links, reference definitions, autolinks, bare URLs and HTML href/src attributes, with fenced
// code, inline code and HTML comments left out (text there is not a link).
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './repo';

export interface Link {
  target: string;
  /** 1-based line of the document the link is on. */
  line: number;
}

/** Hosts a document may point at: the platform on the reader's own machine, as in the quick start. */
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '0.0.0.0', '[::1]']);

/** Replaces every character but line breaks with a space, so offsets and line numbers stay put. */
const blank = (text: string) => text.replace(/[^\n]/g, ' ');

/** The document with fenced code blocks and HTML comments blanked out. */
function withoutBlocks(text: string): string {
  const lines = text.split('\n');
  let fence: string | undefined;
  const kept = lines.map((line) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined) {
      if (!marker) return line;
      fence = marker;
      return blank(line);
    }
    if (marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker)
      fence = undefined;
    return blank(line);
  });
  return kept.join('\n').replace(/<!--[\s\S]*?-->/g, blank);
}

/** The document with code (fenced and inline) and HTML comments blanked out: what is left can link. */
function linkableText(text: string): string {
  return withoutBlocks(text).replace(/(`+)(?!`)[\s\S]*?[^`]\1(?!`)/g, blank);
}

const lineAt = (text: string, offset: number) => text.slice(0, offset).split('\n').length;

/** Every link of a Markdown document, in order. */
export function markdownLinks(text: string): Link[] {
  const source = linkableText(text);
  const links = new Map<string, Link>();
  const add = (target: string, offset: number) => {
    const link = { target: target.replace(/^<(.*)>$/, '$1'), line: lineAt(source, offset) };
    links.set(`${link.line}:${link.target}`, link);
  };
  const patterns = [
    // [text](target "title") and ![alt](target)
    /!?\[(?:[^[\]]|\[[^[\]]*\])*\]\(\s*(<[^>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g,
    // [label]: target
    /^ {0,3}\[[^\]\n]+\]:[ \t]*(<[^>\n]*>|\S+)/gm,
    // <scheme:...>
    /<([a-z][a-z0-9+.-]*:[^>\s]*)>/gi,
    // bare URLs, which GitHub turns into links
    /(?<![\w/(<])((?:https?:\/\/|www\.)[^\s<>)\]]*[^\s<>)\].,;:!?'"])/g,
    // HTML attributes
    /\b(?:href|src)\s*=\s*"([^"]*)"/g,
  ];
  for (const pattern of patterns)
    for (const match of source.matchAll(pattern)) add(match[1]!, match.index + match[0].indexOf(match[1]!));
  return [...links.values()].sort((a, b) => a.line - b.line);
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, each space a dash. */
function slug(heading: string): string {
  const text = heading
    .split(/(`[^`]*`)/)
    .map((part, i) =>
      i % 2 === 1
        ? part.slice(1, -1)
        : part
            .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
            .replace(/<[^>]+>/g, '')
            .replace(/\*+/g, '')
            .replace(/(^|[^\p{L}\p{N}])_+|_+(?=[^\p{L}\p{N}]|$)/gu, '$1'),
    )
    .join('');
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors a Markdown document offers: its headings' slugs (numbered when repeated) and HTML ids. */
export function anchorsOf(text: string): Set<string> {
  const source = withoutBlocks(text);
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of source.matchAll(/^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/gm)) {
    const base = slug(match[1]!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  for (const match of source.matchAll(/\b(?:id|name)\s*=\s*"([^"]+)"/g)) anchors.add(match[1]!);
  return anchors;
}

/** Whether a link leaves the repository: another site, or an address other than the reader's machine. */
function externalProblem(target: string): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(target)?.[1]?.toLowerCase();
  if (!scheme && !target.startsWith('//') && !/^www\./i.test(target)) return undefined;
  if (scheme === 'http' || scheme === 'https' || scheme === 'ws' || scheme === 'wss') {
    const host = /^[a-z]+:\/\/([^/:?#]+|\[[^\]]+\])/i.exec(target)?.[1]?.toLowerCase();
    if (host && LOCAL_HOSTS.has(host)) return undefined;
  }
  return 'links outside the repository';
}

const readText = (absolute: string) => readFileSync(absolute, 'utf8');

/** Whether an absolute path is the repository's root or inside it. */
function isInside(absolute: string): boolean {
  const relative = path.relative(REPO_ROOT, absolute);
  return !relative.startsWith('..') && !path.isAbsolute(relative);
}

/** Why the fragment of a link to `target` (whose content is `text`) names nothing there, if it does not. */
function anchorProblem(target: string, fragment: string, text: string): string | undefined {
  const anchor = decodeURIComponent(fragment);
  if (target.endsWith('.md')) return anchorsOf(text).has(anchor) ? undefined : `no heading #${anchor}`;
  const lines = /^L(\d+)(?:-L(\d+))?$/.exec(anchor);
  if (!lines) return `#${anchor} is not a heading or a line of a non-Markdown file`;
  const last = Number(lines[2] ?? lines[1]);
  return last <= text.split('\n').length ? undefined : `line ${last} is past the end of the file`;
}

/**
 * What is wrong with the links of `file` (relative to the repository root), one line each; empty when
 * every link resolves to a file of the repository (and its anchor to a heading) and none leaves it.
 */
export function linkProblems(file: string, text = readText(path.join(REPO_ROOT, file))): string[] {
  const problems: string[] = [];
  const from = path.dirname(path.join(REPO_ROOT, file));
  for (const { target, line } of markdownLinks(text)) {
    const report = (why: string) => problems.push(`${file}:${line} ${target}: ${why}`);
    const external = externalProblem(target);
    if (external) {
      report(external);
      continue;
    }
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // a local address, checked above
    const [pathPart = '', fragment] = target.split('#', 2);
    const relative = decodeURIComponent(pathPart.split('?')[0]!);
    if (relative === '') {
      // An anchor of this very document.
      const why = fragment ? anchorProblem(file, fragment, text) : undefined;
      if (why) report(why);
      continue;
    }
    const absolute = relative.startsWith('/') ? path.join(REPO_ROOT, relative) : path.resolve(from, relative);
    if (!isInside(absolute)) {
      report('leads outside the repository');
      continue;
    }
    if (!existsSync(absolute)) {
      report('no such file or directory');
      continue;
    }
    if (fragment === undefined || fragment === '') continue;
    if (statSync(absolute).isDirectory()) {
      report('an anchor on a directory');
      continue;
    }
    const why = anchorProblem(absolute, fragment, readText(absolute));
    if (why) report(why);
  }
  return problems;
}

/**
 * Markdown documents a file names that the repository does not have, such as a comment pointing at
 * a design document kept elsewhere. A name counts as present when it exists relative to the file or
 * to the repository root, or when one of `documents` (the repository's Markdown files) ends with it:
 * prose may say `architecture.md` for docs/architecture.md.
 */
export function namedDocumentProblems(file: string, text: string, documents: readonly string[]): string[] {
  const problems: string[] = [];
  const from = path.dirname(path.join(REPO_ROOT, file));
  for (const match of text.matchAll(/(?<![\w/.-])((?:\.{1,2}\/)*[\w./-]*[\w-]\.md)\b/g)) {
    const named = match[1]!;
    const candidates = [path.resolve(from, named), path.join(REPO_ROOT, named)];
    if (candidates.some((candidate) => isInside(candidate) && existsSync(candidate))) continue;
    const suffix = named.replace(/^(?:\.{1,2}\/)+/, '');
    if (!named.startsWith('..') && documents.some((d) => d === suffix || d.endsWith(`/${suffix}`))) continue;
    problems.push(`${file}:${lineAt(text, match.index)} names ${named}, which the repository does not have`);
  }
  return problems;
}
