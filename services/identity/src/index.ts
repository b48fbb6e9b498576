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
const logger = createLogger('identity', config.LOG_LEVEL);

runMain(logger, async () => {
  const connection = await connectMongo({ url: config.MONGO_URL, dbName: config.IDENTITY_DB, logger });
  const bus = createEventBus({
    brokers: config.KAFKA_BROKERS,
    service: 'identity',
    logger,
    defaultPartitions: config.KAFKA_DEFAULT_PARTITIONS,
  });
  const metrics = createMetrics('identity');
  const { service } = createServer({ config, logger, metrics, connection, bus });
  await service.start(config.PORT, config.HOST);
  return service;
});
