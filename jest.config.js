// Unit tests live beside the code (src/**/*.test.ts); suites that need the built binary or real
// services live in compat-tests/. Suites that restart a shared server go in the "serial" project.
const transform = { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
// ESM-only packages jest must turn into CommonJS (Node 20 itself can require() them).
const transformIgnorePatterns = ['/node_modules/(?!@marcbachmann/cel-js/)'];
module.exports = {
  testEnvironment: 'node',
  maxWorkers: 2,
  testTimeout: 30000,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  projects: [
    { displayName: 'unit', testEnvironment: 'node', transform, transformIgnorePatterns, testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'] },
    { displayName: 'compat', testEnvironment: 'node', transform, transformIgnorePatterns, testMatch: ['<rootDir>/compat-tests/**/*.test.ts'], testPathIgnorePatterns: ['/compat-tests/serial/'] },
    // Suites that stop or restart a shared server; test/run.js runs them alone, after the rest.
    { displayName: 'serial', testEnvironment: 'node', transform, transformIgnorePatterns, testMatch: ['<rootDir>/compat-tests/serial/**/*.test.ts'] },
  ],
};
