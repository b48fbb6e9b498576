import type { AgentManifest, ManifestCapability } from '../manifest';

/** Platform operations some platform skills perform (provided by the agents runtime). */
export interface PlatformServices {
  submitAgentDefinition?(yaml: string): Promise<{ buildId: string; status: string }>;
  validateAgentDefinition?(yaml: string): Promise<{ valid: boolean; problems: string[] }>;
  /** Searches the agent catalogue (WowSearch); the runtime can implement it with `searchManifests`. */
  searchCatalogue?(query: string, limit: number): Promise<CatalogueHit[]>;
  /** Aggregated task outcomes and latency (WowAnalytics), optionally for one agent or capability. */
  taskStats?(filter: { agentHandle?: string; capability?: string }): Promise<TaskStats>;
}

/** One agent found in the catalogue, with its relevance score. */
export interface CatalogueHit {
  handle: string;
  name: string;
  specialization: string;
  score: number;
}

/** Task outcomes and latency over a set of tasks. */
export interface TaskStats {
  completed: number;
  failed: number;
  averageMs: number;
  p95Ms: number;
  byCapability: { capability: string; completed: number; failed: number }[];
}

export interface SkillContext {
  /** The clock of the task (so output is reproducible in tests). */
  now: Date;
  taskId?: string;
  platform?: PlatformServices;
}

/** What a skill hands back: the deliverable and a one-line summary. */
export interface SkillResult {
  format: 'text/markdown' | 'application/json';
  title: string;
  content: string;
  summary: string;
}

export type SkillHandler = (input: unknown, context: SkillContext) => Promise<SkillResult>;

export interface SkillRequest {
  manifest: AgentManifest;
  capability: ManifestCapability;
  input: unknown;
  context: SkillContext;
}

/** The task's input does not fit the skill; the task should be rejected, not retried. */
export class SkillInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SkillInputError';
  }
}

/** The skill needs a platform service the runtime did not provide. */
export class SkillUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SkillUnavailableError';
  }
}
