// One jest run for the whole monorepo: fast unit tests beside each package, and integration
// tests under test/ against the real Kafka and Elasticsearch that the global setup starts.
'use strict';

/** ts-jest transpiles only; `npm run build` type-checks with the project references. */
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }],
};
// Tests import packages by name; point those names at the sources so no build is needed first.
const moduleNameMapper = { '^@dnsflow/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts' };

module.exports = {
  // Every test closes what it opened, but once in a while (one CI run in several) a kafkajs
  // connection of some integration test is still open when all tests have passed, and jest
  // would wait on it until the CI's time limit. Exit once the run (and the global teardown)
  // is done; the results are already final then. The open handle is being looked for.
  forceExit: true,
  projects: [
    {
      displayName: 'unit',
      rootDir: __dirname,
      testEnvironment: 'node',
      transform,
      moduleNameMapper,
      testMatch: ['<rootDir>/packages/*/test/**/*.test.ts', '<rootDir>/test/repo/**/*.test.ts'],
    },
    {
      displayName: 'integration',
      rootDir: __dirname,
      testEnvironment: 'node',
      transform,
      moduleNameMapper,
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/integration-timeout.ts'],
    },
    {
      // The whole pipeline on real DNS traffic: sandbox pods, capture, Kafka, enricher,
      // indexer, Elasticsearch and the CLI (issue 7's scenarios).
      displayName: 'e2e',
      rootDir: __dirname,
      testEnvironment: 'node',
      transform,
      moduleNameMapper,
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/e2e-timeout.ts'],
    },
  ],
};
