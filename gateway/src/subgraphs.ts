import { existsSync } from 'node:fs';
import path from 'node:path';
import { defaultSubgraphUrl, SUBGRAPH_PROCESSES } from '@waooaw/shared';

export const SCHEMAS_DIR = path.resolve(__dirname, '../../schemas');
export const SUPERGRAPH_FILE = path.join(SCHEMAS_DIR, 'supergraph.graphql');

/**
 * The subgraphs served by processes of their own (shared/src/ports.ts), then `audit`, served inside
 * the gateway process (LocalGraphQLDataSource): the audit log of every mutation.
 */
const LOCAL = ['audit'] as const;

export interface Subgraph {
  name: string;
  /** True for a subgraph the gateway serves itself (no URL to call). */
  local: boolean;
  /** Default URL; `<NAME>_URL` (e.g. IDENTITY_URL) overrides it. */
  url: string;
  sdlFile: string;
}

/** The subgraphs whose SDL exists in schemas/ (later issues add theirs). */
export function subgraphs(): Subgraph[] {
  const remote = SUBGRAPH_PROCESSES.map((name) => ({ name, local: false, url: defaultSubgraphUrl(name) }));
  const local = LOCAL.map((name) => ({ name, local: true, url: `local://gateway/${name}` }));
  return [...remote, ...local]
    .map((s) => ({ ...s, sdlFile: path.join(SCHEMAS_DIR, `${s.name}.graphql`) }))
    .filter((s) => existsSync(s.sdlFile));
}

/** URLs of the remote subgraphs from the environment (`<NAME>_URL`), with the defaults above. */
export function subgraphUrls(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    subgraphs()
      .filter((s) => !s.local)
      .map((s) => [s.name, env[`${s.name.toUpperCase()}_URL`] ?? s.url]),
  );
}
