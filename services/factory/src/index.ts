import {
  connectMongo,
  createEventBus,
  createLogger,
  createMetrics,
  loadConfigOrExit,
  runMain,
} from '@waooaw/shared';
import { environmentSchema } from './environment';
import { createServer } from './server';

const config = loadConfigOrExit(environmentSchema);
const logger = createLogger('factory', config.LOG_LEVEL);

runMain(logger, async () => {
  const connection = await connectMongo({ url: config.MONGO_URL, dbName: config.FACTORY_DB, logger });
  const bus = createEventBus({
    brokers: config.KAFKA_BROKERS,
    service: 'factory',
    logger,
    defaultPartitions: config.KAFKA_DEFAULT_PARTITIONS,
  });
  const { service } = createServer({ config, logger, metrics: createMetrics('factory'), connection, bus });
  await service.start(config.PORT, config.HOST);
  return service;
});
