import { defineConfig } from 'vitest/config';

// Explorations take seconds on an idle machine but CI machines are shared: generous
// per-test timeouts keep a slow machine from failing a correct run. No test times
// anything; speed is measured by `pagerace bench`, as a ratio within one run.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    include: ['test/**/*.test.ts'],
  },
});
