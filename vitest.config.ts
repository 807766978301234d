import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Child-process tests (multi-process, SIGKILL, CLI) run the compiled package, so build it once first.
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Heavy disk tests (1 GiB streams, 100 MiB kills) should not fight each other on a 2-core machine.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
