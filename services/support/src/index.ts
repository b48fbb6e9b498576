import { bootService, loadConfigOrExit } from '@waooaw/shared';
import { environmentSchema } from './environment';
import { createServer } from './server';

const config = loadConfigOrExit(environmentSchema);
bootService({
  name: 'support',
  config,
  dbName: config.SUPPORT_DB,
  create: (deps) => createServer({ ...deps, config }),
});
