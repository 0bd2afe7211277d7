import { defineConfig } from 'vitest/config';

// `npm run test:node-matrix`: the end-to-end fixture captures, and the CLI
// itself, under every Node major of scripts/node-binaries.mjs (official
// binaries from the npm registry, downloaded once into
// ~/.cache/napi-heapdiff/node-<version>). Kept out of `npm test` (whose
// config includes test/**/*.test.ts only): these files end in .matrix.ts.
export default defineConfig({
  test: {
    include: ['test/node-matrix/**/*.matrix.ts'],
    pool: 'forks',
    // One version at a time; each runs two captures at once (2 cores).
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 900_000,
  },
});
