// `npm test` runs every workspace's tests in one jest run (projects): the infrastructure starts once
// and the summary counts every test. Each workspace still runs alone with `npm test -w <name>`.
/** @type {import('jest').Config} */
module.exports = {
  projects: [
    '<rootDir>/shared',
    '<rootDir>/infra',
    '<rootDir>/services/*',
    '<rootDir>/agents',
    '<rootDir>/gateway',
    '<rootDir>/test',
    '<rootDir>/bench',
  ],
  testTimeout: 60_000,
};
