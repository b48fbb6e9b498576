// The jest settings every workspace shares. Tests run TypeScript through SWC (type checking is the
// separate `typecheck` task), import workspace packages from source, and share one real Kafka and
// MongoDB-protocol server that the global setup starts unless one is already there.
const path = require('node:path');

const root = __dirname;

/** @returns {import('jest').Config} */
module.exports = function preset(dir, overrides = {}) {
  return {
    displayName: require(path.join(dir, 'package.json')).name,
    rootDir: dir,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/src/**/*.test.ts'],
    transform: {
      '^.+\\.ts$': [
        '@swc/jest',
        { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
      ],
      // The OTLP exporter loads node:http with `import()`, which jest's CommonJS runtime refuses
      // without --experimental-vm-modules; compiled here it becomes a require (tests that export
      // spans to a receiver, such as test/src/flows/tracing.test.ts).
      '/@opentelemetry/otlp-exporter-base/.+\\.js$': [
        '@swc/jest',
        { jsc: { target: 'es2022' }, module: { type: 'commonjs', ignoreDynamic: false } },
      ],
    },
    transformIgnorePatterns: ['^(?!.*/@opentelemetry/otlp-exporter-base/).*/node_modules/'],
    moduleNameMapper: {
      '^@waooaw/shared/testing$': path.join(root, 'shared/src/testing/index.ts'),
      '^@waooaw/(shared|infra)$': path.join(root, '$1/src/index.ts'),
      '^@waooaw/(identity|factory|discovery|orchestration|marketplace|support)/server$': path.join(
        root,
        'services/$1/src/server.ts',
      ),
      '^@waooaw/gateway/server$': path.join(root, 'gateway/src/server.ts'),
      '^@waooaw/agents/runtime$': path.join(root, 'agents/src/runtime/index.ts'),
    },
    globalSetup: path.join(root, 'infra/src/testing/global-setup.ts'),
    globalTeardown: path.join(root, 'infra/src/testing/global-teardown.ts'),
    testTimeout: 60_000,
    ...overrides,
  };
};
