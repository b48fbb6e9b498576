/** What the factory generates for each agent (agents/generated/<handle>/manifest.ts). */
export interface AgentManifest {
  readonly handle: string;
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly kind: 'PLATFORM' | 'CUSTOMER';
  readonly category: 'PLATFORM' | 'MARKETING' | 'EDUCATION' | 'SALES';
  readonly specialization: string;
  readonly industries: readonly string[];
  readonly tier: 'PREMIUM' | 'STANDARD' | 'BUDGET';
  readonly tags: readonly string[];
  readonly template: 'platform-coe' | 'marketing' | 'education' | 'sales';
  readonly persona: { readonly tagline: string; readonly statusLine: string };
  readonly pricing: {
    readonly currency: 'INR';
    readonly trialDays: number;
    readonly plans: readonly {
      readonly id: string;
      readonly name: string;
      readonly monthlyPrice: number;
      readonly features: readonly string[];
    }[];
  } | null;
  readonly runtime: { readonly concurrency: number; readonly timeoutMs: number; readonly weight: number };
  readonly capabilities: readonly ManifestCapability[];
  /** sha256 of the YAML the module was generated from. */
  readonly sourceSha256: string;
}

export interface ManifestCapability {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly handler: string;
  readonly tags: readonly string[];
  readonly inputModes: readonly string[];
  readonly outputModes: readonly string[];
  readonly examples: readonly string[];
}
