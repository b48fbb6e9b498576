// First: starts tracing (when configured) before the modules it instruments are loaded.
import '@waooaw/shared/tracing/register';
import { bootService, loadConfigOrExit } from '@waooaw/shared';
import { environmentSchema } from './environment';
import { createServer } from './server';

const config = loadConfigOrExit(environmentSchema);
bootService({
  name: 'marketplace',
  config,
  dbName: config.MARKETPLACE_DB,
  create: (deps) => createServer({ ...deps, config }),
});
