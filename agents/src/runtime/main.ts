// First: starts tracing (when configured) before the modules it instruments are loaded.
import '@waooaw/shared/tracing/register';
import { parseArgs } from 'node:util';
import {
  busComponent,
  createEventBus,
  createLogger,
  createMetrics,
  createService,
  loadConfigOrExit,
  runMain,
} from '@waooaw/shared';
import { catalogue } from '../../generated';
import { environmentSchema, llmProviderFromConfig } from './environment';
import type { FleetOptions } from './fleet';
import { parseTiers, parseWorkRange, planFleet } from './fleet';
import { createAgentRuntime } from './runtime';

const USAGE = `usage: node dist/src/runtime/main.js [--fleet N] [--tiers T:W:S,...] [--agents h1,h2] [--concurrency N] [--work-ms MIN-MAX] [--runtime-id ID]
  (no options)   one instance of each catalogue agent, tier and weight from its definition
  --fleet N      N instances spread over the agents, tiers by --tiers (default PREMIUM:10:1,STANDARD:1:3,BUDGET:0.3:2)
  --tiers        tier:weight:share[:workMs] list, e.g. PREMIUM:10:20:10-30,STANDARD:1:60:30-70,BUDGET:0.3:40
  --work-ms      every task takes at least MIN-MAX ms (simulated work; a tier's own workMs wins)
  --agents       only these agent handles
  --concurrency  tasks each instance runs at once (default: the definition's runtime.concurrency)
  --runtime-id   overrides RUNTIME_ID
  --fault-signal SIGUSR2 toggles an injected fault: every attempt fails until the next SIGUSR2 (the bench)`;

/** The agents runtime process: `npm start` runs one with the whole catalogue. */
function fleetOptions(argv: string[], runtimeId: string): FleetOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      fleet: { type: 'string' },
      tiers: { type: 'string' },
      agents: { type: 'string' },
      concurrency: { type: 'string' },
      'work-ms': { type: 'string' },
      'runtime-id': { type: 'string' },
      'fault-signal': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  faultSignal = values['fault-signal'] ?? false;
  return {
    runtimeId: values['runtime-id'] ?? runtimeId,
    ...(values.fleet !== undefined ? { size: Number(values.fleet) } : {}),
    ...(values.tiers !== undefined ? { tiers: parseTiers(values.tiers) } : {}),
    ...(values.agents !== undefined ? { handles: values.agents.split(',').map((h) => h.trim()) } : {}),
    ...(values.concurrency !== undefined ? { concurrency: Number(values.concurrency) } : {}),
    ...(values['work-ms'] !== undefined ? { workMs: parseWorkRange(values['work-ms']) } : {}),
  };
}

const config = loadConfigOrExit(environmentSchema);
const logger = createLogger('agents-runtime', config.LOG_LEVEL);
let faultSignal = false;
let options: FleetOptions;
let fleet: ReturnType<typeof planFleet>;
try {
  options = fleetOptions(process.argv.slice(2), config.RUNTIME_ID);
  fleet = planFleet(catalogue, options);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
  process.exit(2);
}

runMain(logger, async () => {
  const metrics = createMetrics('agents-runtime');
  const bus = createEventBus({
    brokers: config.KAFKA_BROKERS,
    service: 'agents-runtime',
    logger,
    metrics,
    defaultPartitions: config.KAFKA_DEFAULT_PARTITIONS,
    namespace: config.WAOOAW_NAMESPACE,
  });
  const llm = llmProviderFromConfig(config);
  if (llm)
    logger.info(
      { model: llm.model, baseUrl: config.LLM_BASE_URL },
      'LLM enrichment of Markdown deliverables is on',
    );
  const runtime = createAgentRuntime({
    bus,
    logger,
    runtimeId: options.runtimeId,
    fleet,
    catalogue,
    orchestration: { url: config.ORCHESTRATION_URL, callerSecret: config.CALLER_TOKEN_SECRET },
    factory: { url: config.FACTORY_URL, callerSecret: config.CALLER_TOKEN_SECRET },
    heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
    ttlSeconds: config.INSTANCE_TTL_SECONDS,
    consumerGroupPrefix: config.KAFKA_GROUP_PREFIX,
    metrics,
    ...(llm ? { llm } : {}),
  });
  if (faultSignal)
    process.on('SIGUSR2', () => runtime.setFault(runtime.fault === 'errors' ? null : 'errors'));
  const service = createService({
    name: 'agents-runtime',
    logger,
    metrics,
    components: [busComponent(bus), runtime.component()],
  });
  await service.start(config.PORT, config.HOST, config.METRICS_PORT);
  return service;
});
