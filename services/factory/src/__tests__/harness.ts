import { factoryEvents, identityCommands } from '@waooaw/shared';
import { graphqlExecutor, startTestService, TEST_CALLER_SECRET } from '@waooaw/shared/testing';
import { createServer } from '../server';

/** The factory service on the real servers (without its catalogue), driven in process. */
export async function startFactory() {
  const t = await startTestService({
    name: 'factory',
    collect: [
      identityCommands.registerAgent.topic,
      factoryEvents.buildUpdated.topic,
      factoryEvents.definitionRejected.topic,
    ],
    create: (deps) =>
      createServer({
        ...deps,
        config: {
          CALLER_TOKEN_SECRET: TEST_CALLER_SECRET,
          NODE_ENV: 'test',
          FACTORY_LOAD_CATALOGUE: false,
          FACTORY_CATALOGUE_DIR: '',
        },
      }),
  });
  return {
    ...t.server,
    db: t.db,
    exec: graphqlExecutor(t.server, TEST_CALLER_SECRET),
    /** Every message of a type on the register-command and build topics so far. */
    messages: (type: string) => t.events(type),
    stop: () => t.stop(),
  };
}
