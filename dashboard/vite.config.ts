// Builds the dashboard page into dist/dashboard/web, which the sidecar serves (src/dashboard/server.ts).
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

export default defineConfig({
  root: __dirname,
  // Relative asset URLs: the page works whatever path a reverse proxy puts it under.
  base: './',
  logLevel: 'warn',
  build: {
    outDir: resolve(__dirname, '..', 'dist', 'dashboard', 'web'),
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
  },
});
