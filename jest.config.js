/**
 * Three jest projects in one run: `unit` (specs beside the code, no database), `medium` (real
 * PostgreSQL and barrier) and `e2e` (the server over HTTP). `npm run test:unit` runs one of them
 * (`jest --selectProjects unit`). globalSetup starts one embedded PostgreSQL (or uses DATABASE_URL)
 * and probes the machine's services for the projects that need them; each test file makes its own
 * database.
 */
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] };
const withServices = {
  testEnvironment: 'node',
  transform,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};

module.exports = {
  maxWorkers: 2,
  testTimeout: 60000,
  projects: [
    { displayName: 'unit', testEnvironment: 'node', transform, roots: ['<rootDir>/src'], testMatch: ['**/*.spec.ts'] },
    { displayName: 'medium', ...withServices, roots: ['<rootDir>/test/medium'], testMatch: ['**/*.test.ts'] },
    { displayName: 'e2e', ...withServices, roots: ['<rootDir>/test/e2e'], testMatch: ['**/*.test.ts'] },
  ],
};
