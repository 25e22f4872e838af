#!/usr/bin/env node
// CommonJS (bin/package.json), so that threadpool.cjs runs before the ESM loader starts libuv's threadpool.
// The CLI is compiled to dist/ by `npm run build` (run automatically by `npm ci` / `npm install` through `prepare`).
require('./threadpool.cjs');

import('../dist/pipelines/cli/main.js').then(async ({ main }) => {
  process.exitCode = await main(process.argv.slice(2));
});
