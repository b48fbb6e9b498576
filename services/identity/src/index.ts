import { bootService, loadConfigOrExit } from '@waooaw/shared';
import { environmentSchema } from './environment';
import { createServer } from './server';

const config = loadConfigOrExit(environmentSchema);
bootService({
  name: 'identity',
  config,
  dbName: config.IDENTITY_DB,
  create: (deps) => createServer({ ...deps, config }),
});
