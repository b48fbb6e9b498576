module.exports = require('../jest.preset')(__dirname, {
  testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/generated/**/*.test.ts'],
});
