// `npm run docs:config`: writes docs/configuration.md from the zod schemas (see configuration-doc.ts).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CONFIGURATION_DOC, configurationDoc } from './configuration-doc';
import { REPO_ROOT } from './repo';

writeFileSync(path.join(REPO_ROOT, CONFIGURATION_DOC), configurationDoc());
process.stdout.write(`wrote ${CONFIGURATION_DOC}\n`);
