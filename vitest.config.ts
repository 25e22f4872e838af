import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Crash and end-to-end tests spawn the hub as a child process and DuckDB uses threads: keep parallelism within 2 cores.
    maxWorkers: 2,
  },
});
