import { readFileSync } from 'node:fs';
import path from 'node:path';
import { anchorsOf, linkProblems, markdownLinks, namedDocumentProblems } from './markdown-links';
import { REPO_ROOT, repoFiles } from './repo';

const MARKDOWN = repoFiles('*.md');

describe('links of the Markdown documents', () => {
  it('reads the documents a newcomer starts from', () => {
    expect(MARKDOWN).toEqual(
      expect.arrayContaining([
        'README.md',
        'docs/architecture.md',
        'docs/conventions.md',
        'docs/configuration.md',
      ]),
    );
  });

  it.each(MARKDOWN)('%s: every link resolves to a file (and heading) of the repository', (file) => {
    expect(linkProblems(file)).toEqual([]);
  });

  it('no file names a Markdown document the repository does not have, even outside a link', () => {
    const problems = repoFiles()
      .filter((file) => file !== 'package-lock.json')
      // This checker's own tests name missing documents on purpose.
      .filter((file) => !file.startsWith('test/src/docs/'))
      .flatMap((file) => {
        const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
        return text.includes('\0') ? [] : namedDocumentProblems(file, text, MARKDOWN);
      });
    expect(problems).toEqual([]);
  });
});

describe('the link checker', () => {
  const sample = [
    '# A sample',
    '## Second heading (`code`)',
    'See [the conventions](conventions.md), [a heading](#second-heading-code) and',
    '[the root README](/README.md), <http://localhost:4000/graphql> and http://127.0.0.1:4000.',
    '[missing](missing-document.md) [bad anchor](conventions.md#no-such-heading)',
    '[outside](../../outside-the-repository.md) [a site](https://example.com/page) www.example.org',
    '`[in code](missing-in-code.md)`',
    '```',
    '[in a fence](missing-in-fence.md)',
    '```',
    '[ref]: https://example.net',
    '<!-- [in a comment](missing-in-comment.md) -->',
    '<a href="missing-html.md">html</a>',
  ].join('\n');

  it('reports missing files and headings, paths leaving the repository and other sites, with their line', () => {
    expect(linkProblems('docs/sample.md', sample)).toEqual([
      'docs/sample.md:5 missing-document.md: no such file or directory',
      'docs/sample.md:5 conventions.md#no-such-heading: no heading #no-such-heading',
      'docs/sample.md:6 ../../outside-the-repository.md: leads outside the repository',
      'docs/sample.md:6 https://example.com/page: links outside the repository',
      'docs/sample.md:6 www.example.org: links outside the repository',
      'docs/sample.md:11 https://example.net: links outside the repository',
      'docs/sample.md:13 missing-html.md: no such file or directory',
    ]);
  });

  it("leaves code and comments alone and accepts addresses on the reader's machine", () => {
    const targets = markdownLinks(sample).map((l) => l.target);
    expect(targets).toEqual(
      expect.arrayContaining(['http://localhost:4000/graphql', 'http://127.0.0.1:4000']),
    );
    expect(targets.filter((t) => /in-(code|fence|comment)/.test(t))).toEqual([]);
  });

  it("knows headings by GitHub's anchors, repeated ones numbered", () => {
    const anchors = anchorsOf(
      '# Chaos (`npm run chaos`)\n## Figures\n## Figures\n## A/B: *really* `KAFKA_BROKERS`',
    );
    expect([...anchors]).toEqual(['chaos-npm-run-chaos', 'figures', 'figures-1', 'ab-really-kafka_brokers']);
  });

  it('finds a document named in a comment that the repository does not have', () => {
    const text = '// see ../shared/ARCHITECTURE.md, docs/architecture.md, architecture.md and README.md\n';
    expect(namedDocumentProblems('shared/src/example.ts', text, MARKDOWN)).toEqual([
      'shared/src/example.ts:1 names ../shared/ARCHITECTURE.md, which the repository does not have',
    ]);
  });
});
