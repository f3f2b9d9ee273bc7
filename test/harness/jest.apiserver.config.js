// Jest config for tests that talk to the test API server (test/harness/apiserver.ts).
// It is the project's jest config (package.json "jest") plus:
//   - globalSetup/globalTeardown starting one etcd + test-apiserver for the whole run;
//   - a transform for the ESM-only @kubernetes/client-node 1.x dependency tree.
// Usage: npx jest -c test/harness/jest.apiserver.config.js [paths]
'use strict';
const path = require('path');
const base = require('../../package.json').jest || {};

/** ESM-only packages that must be transpiled for jest's CommonJS runtime on Node 20. */
const ESM_PACKAGES = ['@kubernetes/client-node', 'openid-client', 'oauth4webapi', 'jose'];

module.exports = {
  ...base,
  rootDir: path.resolve(__dirname, '..', '..'),
  collectCoverage: false,
  globalSetup: '<rootDir>/test/harness/global-setup.ts',
  globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
  transform: {
    ...(base.transform || {}),
    '^.+\\.m?js$': '<rootDir>/test/harness/esm-transform.js',
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_PACKAGES.map((p) => p.replace('/', '\\/')).join('|')})/)`],
};
