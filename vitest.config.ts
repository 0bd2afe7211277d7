import { defineConfig } from 'vitest/config';

// Tests run real node processes, build real addons and write real snapshots:
// generous timeouts, and files in separate processes so a crashing child
// cannot take the runner with it.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 180_000,
    maxWorkers: 2,
  },
});
