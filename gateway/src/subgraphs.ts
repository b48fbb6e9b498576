import { existsSync } from 'node:fs';
import path from 'node:path';

export const SCHEMAS_DIR = path.resolve(__dirname, '../../schemas');
export const SUPERGRAPH_FILE = path.join(SCHEMAS_DIR, 'supergraph.graphql');

/** The platform's subgraphs and their default ports (docs/architecture.md). */
const ALL = [
  { name: 'identity', port: 4001 },
  { name: 'factory', port: 4002 },
  { name: 'discovery', port: 4003 },
  { name: 'orchestration', port: 4004 },
  { name: 'marketplace', port: 4005 },
  { name: 'support', port: 4006 },
  // Served inside the gateway process (LocalGraphQLDataSource): the audit log of every mutation.
  { name: 'audit', port: 0 },
] as const;

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
  return ALL.map((s) => ({
    name: s.name,
    local: s.port === 0,
    url: s.port === 0 ? `local://gateway/${s.name}` : `http://localhost:${s.port}/graphql`,
    sdlFile: path.join(SCHEMAS_DIR, `${s.name}.graphql`),
  })).filter((s) => existsSync(s.sdlFile));
}

/** URLs of the remote subgraphs from the environment (`<NAME>_URL`), with the defaults above. */
export function subgraphUrls(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    subgraphs()
      .filter((s) => !s.local)
      .map((s) => [s.name, env[`${s.name.toUpperCase()}_URL`] ?? s.url]),
  );
}
