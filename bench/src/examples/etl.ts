import type { SkillHandler } from '@waooaw/agents';
import { mulberry32 } from '@waooaw/shared';
import type { ExampleEnv, ExampleInstance } from './common';
import { exampleManifest, jsonOutput, readJson, startExampleRuntime, until, waitRoutable } from './common';

/** A sales record as ingested: [id, customer, region, amount, currency, epoch seconds]. */
export type RawRecord = [number, string, string | null, number, string, number];
/** After transform: [id, region, amount in INR, GST in INR]. */
export type CleanRecord = [number, string, number, number];

export interface RegionTotals {
  count: number;
  amountInr: number;
  gstInr: number;
}

export interface EtlReport {
  records: number;
  rejected: number;
  regions: Record<string, RegionTotals>;
  totalInr: number;
}

const REGIONS = ['north', 'South', 'EAST', 'west', 'central'];
const CURRENCIES = ['INR', 'INR', 'INR', 'USD', 'EUR'];
const TO_INR: Record<string, number> = { INR: 1, USD: 83.2, EUR: 90.1 };
const GST = 0.18;

/** Record `id` of the data set `seed`; about 2% are broken (no region, or a negative amount). */
export function generateRecord(seed: number, id: number): RawRecord {
  // The same seed and id give the same record anywhere.
  const r = mulberry32(seed * 1_000_003 + id);
  const broken = r() < 0.02;
  const region = broken && r() < 0.5 ? null : REGIONS[Math.floor(r() * REGIONS.length)]!;
  const amount = Math.round((broken && region !== null ? -1 : 1) * (50 + r() * 5000) * 100) / 100;
  return [
    id,
    `cust-${Math.floor(r() * 5000)}`,
    region,
    amount,
    CURRENCIES[Math.floor(r() * CURRENCIES.length)]!,
    1_767_225_600 + Math.floor(r() * 86_400 * 30),
  ];
}

export const ingest = (seed: number, from: number, count: number): RawRecord[] =>
  Array.from({ length: count }, (_, k) => generateRecord(seed, from + k));

export function validate(records: RawRecord[]): { valid: RawRecord[]; rejected: number } {
  const valid = records.filter((r) => r[2] !== null && r[3] > 0 && TO_INR[r[4]] !== undefined);
  return { valid, rejected: records.length - valid.length };
}

const money = (n: number) => Math.round(n * 100) / 100;

export function transform(records: RawRecord[]): CleanRecord[] {
  return records.map(([id, , region, amount, currency]) => {
    const inr = money(amount * TO_INR[currency]!);
    return [id, region!.toUpperCase(), inr, money(inr * GST)];
  });
}

export function aggregate(records: CleanRecord[]): Record<string, RegionTotals> {
  const regions: Record<string, RegionTotals> = {};
  for (const [, region, inr, gst] of records) {
    const t = (regions[region] ??= { count: 0, amountInr: 0, gstInr: 0 });
    t.count++;
    t.amountInr = money(t.amountInr + inr);
    t.gstInr = money(t.gstInr + gst);
  }
  return regions;
}

export function merge(parts: { regions: Record<string, RegionTotals>; rejected: number }[]): EtlReport {
  const regions: Record<string, RegionTotals> = {};
  let rejected = 0;
  for (const part of parts) {
    rejected += part.rejected;
    for (const [region, t] of Object.entries(part.regions)) {
      const into = (regions[region] ??= { count: 0, amountInr: 0, gstInr: 0 });
      into.count += t.count;
      into.amountInr = money(into.amountInr + t.amountInr);
      into.gstInr = money(into.gstInr + t.gstInr);
    }
  }
  const sorted = Object.fromEntries(Object.entries(regions).sort(([a], [b]) => a.localeCompare(b)));
  const records = Object.values(regions).reduce((n, t) => n + t.count, 0);
  const totalInr = money(Object.values(regions).reduce((n, t) => n + t.amountInr, 0));
  return { records, rejected, regions: sorted, totalInr };
}

/** The whole pipeline computed in this process: what the workflow's export must equal. */
export function expectedReport(seed: number, records: number, shards: number): EtlReport {
  return merge(
    shardRanges(records, shards).map(([from, count]) => {
      const { valid, rejected } = validate(ingest(seed, from, count));
      return { regions: aggregate(transform(valid)), rejected };
    }),
  );
}

/** [from, count] of each shard: as even as possible. */
export function shardRanges(records: number, shards: number): [number, number][] {
  const base = Math.floor(records / shards);
  const extra = records % shards;
  const ranges: [number, number][] = [];
  let from = 0;
  for (let k = 0; k < shards; k++) {
    const count = base + (k < extra ? 1 : 0);
    ranges.push([from, count]);
    from += count;
  }
  return ranges;
}

interface NodeInput {
  seed?: number;
  from?: number;
  count?: number;
  parents?: Record<string, { content: string } | null>;
}

const parentValues = <T>(input: unknown): T[] =>
  Object.values((input as NodeInput).parents ?? {}).map((o) => readJson<T>(o));

/** The deliverable of a stage's single parent. */
function parentValue<T>(input: unknown): T {
  const [value] = parentValues<T>(input);
  if (value === undefined) throw new Error("this stage needs the previous stage's output");
  return value;
}

/** The five stage skills, as agents of their own. */
const stages: { name: string; description: string; handler: SkillHandler }[] = [
  {
    name: 'etl.ingest',
    description: 'Reads a shard of the source records',
    handler: async (input) => {
      const { seed = 1, from = 0, count = 0 } = input as NodeInput;
      const records = ingest(seed, from, count);
      return jsonOutput('ingested', { records }, `${records.length} records from ${from}`);
    },
  },
  {
    name: 'etl.validate',
    description: 'Drops records without a region or with a non-positive amount',
    handler: async (input) => {
      const { records } = parentValue<{ records: RawRecord[] }>(input);
      const { valid, rejected } = validate(records);
      return jsonOutput(
        'validated',
        { records: valid, rejected },
        `${valid.length} valid, ${rejected} rejected`,
      );
    },
  },
  {
    name: 'etl.transform',
    description: 'Converts amounts to INR, adds GST, normalises regions',
    handler: async (input) => {
      const { records, rejected } = parentValue<{ records: RawRecord[]; rejected: number }>(input);
      const clean = transform(records);
      return jsonOutput('transformed', { records: clean, rejected }, `${clean.length} records in INR`);
    },
  },
  {
    name: 'etl.aggregate',
    description: 'Totals a shard by region',
    handler: async (input) => {
      const { records, rejected } = parentValue<{ records: CleanRecord[]; rejected: number }>(input);
      const regions = aggregate(records);
      return jsonOutput('aggregated', { regions, rejected }, `${Object.keys(regions).length} regions`);
    },
  },
  {
    name: 'etl.export',
    description: 'Merges the shards into the report',
    handler: async (input) => {
      const report = merge(parentValues<{ regions: Record<string, RegionTotals>; rejected: number }>(input));
      return jsonOutput('ETL report', report, `${report.records} records, ${report.rejected} rejected`);
    },
  },
];

/** Instances per stage: 12 agents in all. */
const INSTANCES: Record<string, number> = {
  'etl.ingest': 3,
  'etl.validate': 3,
  'etl.transform': 3,
  'etl.aggregate': 2,
  'etl.export': 1,
};

export interface EtlResult {
  workflowId: string;
  records: number;
  shards: number;
  agents: number;
  seconds: number;
  recordsPerS: number;
  report: EtlReport;
  verified: boolean;
}

/**
 * ingest -> validate -> transform -> aggregate -> export as one workflow (a DAG of 4 x shards + 1
 * nodes) over 12 agent instances of five example agents; each stage's output travels to the next as
 * its parent's deliverable. The export is checked against the same pipeline computed locally.
 */
export async function runEtl(
  env: ExampleEnv,
  options: { records?: number; shards?: number; seed?: number } = {},
): Promise<EtlResult> {
  const records = options.records ?? 22_442;
  const shards = options.shards ?? 12;
  const seed = options.seed ?? 42;
  const instances: ExampleInstance[] = stages.flatMap((stage) => {
    const manifest = exampleManifest({
      handle: `example-${stage.name.replace('.', '-')}`,
      name: `ETL ${stage.name.slice(4)}`,
      description: stage.description,
      capabilities: [{ name: stage.name, description: stage.description }],
      concurrency: 4,
    });
    return Array.from({ length: INSTANCES[stage.name]! }, () => ({
      manifest,
      handlers: { [stage.name]: stage.handler },
      tier: 'STANDARD' as const,
      weight: 1,
    }));
  });
  const runtimeId = `${env.runId}-etl`;
  const runtime = await startExampleRuntime(env, runtimeId, instances);
  try {
    await waitRoutable(env, [runtimeId], instances.length, {
      capability: 'etl.export',
      input: { parents: {} },
    });
    env.log(`[etl] ${instances.length} agents ready; ${records} records in ${shards} shards`);
    const nodes = shardRanges(records, shards).flatMap(([from, count], k) => [
      { id: `ingest-${k}`, capability: 'etl.ingest', input: { seed, from, count } },
      { id: `validate-${k}`, capability: 'etl.validate', input: {}, dependsOn: [`ingest-${k}`] },
      { id: `transform-${k}`, capability: 'etl.transform', input: {}, dependsOn: [`validate-${k}`] },
      { id: `aggregate-${k}`, capability: 'etl.aggregate', input: {}, dependsOn: [`transform-${k}`] },
    ]);
    nodes.push({
      id: 'export',
      capability: 'etl.export',
      input: {},
      dependsOn: Array.from({ length: shards }, (_, k) => `aggregate-${k}`),
    });
    let status: string | null = null;
    let exported: { content: string } | null = null;
    let workflowId = '';
    const stop = env.kafka.listen({
      onWorkflowUpdated: (u) => {
        if (u.workflowId === workflowId && u.nodeId === null && u.status !== 'RUNNING') status = u.status;
      },
      onTaskUpdated: (_id, u) => {
        if (workflowId && u.taskId === `${workflowId}.export` && u.status === 'COMPLETED')
          exported = u.output ?? null;
      },
    });
    try {
      const started = performance.now();
      const res = await env.operator<{ submitWorkflow: { id: string } }>(
        `mutation($input: SubmitWorkflowInput!) { submitWorkflow(input: $input) { id } }`,
        { input: { name: `etl ${records} records`, nodes, failurePolicy: 'FAIL_FAST' } },
      );
      if (!res.data?.submitWorkflow)
        throw new Error(`submitWorkflow failed: ${res.errors?.[0]?.message ?? res.status}`);
      workflowId = res.data.submitWorkflow.id;
      await until(
        () => exported !== null || (status !== null && status !== 'COMPLETED'),
        300_000,
        'the workflow to finish',
      );
      const seconds = (performance.now() - started) / 1000;
      if (!exported) throw new Error(`the workflow ended ${status ?? 'without an export'}`);
      const report = readJson<EtlReport>(exported);
      const expected = expectedReport(seed, records, shards);
      const verified = JSON.stringify(report) === JSON.stringify(expected);
      const result: EtlResult = {
        workflowId,
        records,
        shards,
        agents: instances.length,
        seconds,
        recordsPerS: records / seconds,
        report,
        verified,
      };
      env.log(
        `[etl] ${records} records (${report.records} exported, ${report.rejected} rejected) through 5 stages on ${instances.length} agents in ${seconds.toFixed(2)} s: ${Math.round(result.recordsPerS)} records/s (seed: 22,442 in 6.61 s = 3,395 records/s)`,
      );
      env.log(
        `[etl] export ${verified ? 'matches' : 'DIFFERS FROM'} the pipeline computed locally; total ${report.totalInr.toLocaleString('en-IN')} INR`,
      );
      return result;
    } finally {
      stop();
    }
  } finally {
    await runtime.stop();
  }
}
