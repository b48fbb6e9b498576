import type { AgentManifest, ManifestCapability } from '../../../manifest';

/** A capability as a manifest lists it: version 1.0.0, one handler, no examples. */
export const testCapability = (
  name: string,
  outputMode: 'text/markdown' | 'application/json' = 'text/markdown',
): ManifestCapability => ({
  name,
  version: '1.0.0',
  description: `${name} capability`,
  handler: 'h',
  tags: [],
  inputModes: ['application/json'],
  outputModes: [outputMode],
  examples: [],
});

/**
 * A minimal manifest holding `capabilities`: the fields a skill reads (handle, name, runtime) set,
 * the rest empty; `extra` overrides any of them.
 */
export const testManifest = (
  capabilities: ManifestCapability[],
  extra: Partial<AgentManifest> = {},
): AgentManifest => ({
  handle: 'wow-test',
  name: 'WowTest',
  version: '1.0.0',
  description: '',
  kind: 'PLATFORM',
  category: 'PLATFORM',
  specialization: 'Testing',
  industries: [],
  tier: 'STANDARD',
  tags: [],
  template: 'platform-coe',
  persona: { tagline: '', statusLine: '' },
  pricing: null,
  runtime: { concurrency: 1, timeoutMs: 1000, weight: 1 },
  capabilities,
  sourceSha256: '',
  ...extra,
});

/**
 * `describe` for one capability of a registry, remembering its name, so the registry's own test can
 * check that every capability it holds has a describe block (`tested`).
 */
export function capabilityDescriber() {
  const tested = new Set<string>();
  const capability = (name: string, fn: () => void) => {
    tested.add(name);
    describe(name, fn);
  };
  return { capability, tested };
}
