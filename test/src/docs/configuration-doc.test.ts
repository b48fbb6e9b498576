import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  BASE_SCHEMA_FILE,
  CONFIGURATION_DOC,
  configurationDoc,
  PROCESSES,
  renderConfiguration,
} from './configuration-doc';
import { REPO_ROOT, repoFiles } from './repo';

describe('docs/configuration.md', () => {
  it('is what `npm run docs:config` generates from the zod schemas (run it when this fails)', () => {
    const committed = readFileSync(path.join(REPO_ROOT, CONFIGURATION_DOC), 'utf8');
    expect(committed).toBe(configurationDoc());
  });

  it('covers every process whose environment is a service schema', () => {
    // A new process declares its schema with serviceEnvSchema(<its port>), its port one of PORTS
    // (shared/src/ports.ts) or a number: it must be listed in PROCESSES.
    const declaring = repoFiles('*.ts').filter(
      (file) =>
        file !== BASE_SCHEMA_FILE &&
        !/(\.test\.ts|__tests__\/)/.test(file) &&
        /serviceEnvSchema\([^)]+\)/.test(readFileSync(path.join(REPO_ROOT, file), 'utf8')),
    );
    expect(PROCESSES.map((p) => p.schemaFile).sort()).toEqual(declaring);
  });

  it('describes a variable with the doc comment above it in its schema, and gives its default and values', () => {
    const row = renderConfiguration()
      .split('\n')
      .find((line) => line.startsWith('| `MAX_QUERY_TOKENS` |'));
    expect(row).toBe(
      '| `MAX_QUERY_TOKENS` | `500` | integer, at least 1 | Tokens in a document; the parser stops reading at the limit. |',
    );
  });
});
