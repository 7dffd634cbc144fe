// Jest runs the TypeScript sources as native ES modules (@kubernetes/client-node 1.x is ESM-only),
// so `npm test` starts node with --experimental-vm-modules.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testMatch: ['<rootDir>/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.stack/'],
  globalSetup: '<rootDir>/e2e/jest/global-setup.js',
  globalTeardown: '<rootDir>/e2e/jest/global-teardown.js',
  // Tests against the shared local stack run one file at a time on this 2-core machine.
  maxWorkers: 1,
  testTimeout: 120_000,
};
