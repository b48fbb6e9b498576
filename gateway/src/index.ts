// First: starts tracing (when configured) before the modules it instruments are loaded.
import '@waooaw/shared/tracing/register';
import { connectMongo, createLogger, createMetrics, loadConfigOrExit, runMain } from '@waooaw/shared';
import { environmentSchema } from './environment';
import { createGateway } from './server';

const config = loadConfigOrExit(environmentSchema);
const logger = createLogger('gateway', config.LOG_LEVEL);

runMain(logger, async () => {
  const connection = await connectMongo({
    url: config.MONGO_URL,
    dbName: config.GATEWAY_DB,
    namespace: config.WAOOAW_NAMESPACE,
    logger,
  });
  const { service } = createGateway({
    config,
    logger,
    metrics: createMetrics('gateway'),
    connection,
    brokers: config.KAFKA_BROKERS,
    namespace: config.WAOOAW_NAMESPACE,
  });
  const url = await service.start(config.PORT, config.HOST, config.METRICS_PORT);
  logger.info(`Apollo Sandbox: ${url}/graphql`);
  return service;
});
