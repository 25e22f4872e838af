#!/usr/bin/env node
// The CLI is compiled to dist/ by `npm run build` (run automatically by `npm ci` / `npm install` through `prepare`).
import { main } from '../dist/pipelines/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
