/**
 * Entry of the ingest bench's child processes (one per role and run, so each one's RSS and CPU are its own):
 * `node child.js <produce|pipeline|reference|floor> --feed F --dir D [...]`; prints its result as one JSON line.
 */
import { parseArgs } from 'node:util';
import { type BenchFeed, benchFeeds } from './feeds.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    feed: { type: 'string' },
    dir: { type: 'string' },
    run: { type: 'string', default: '1' },
    records: { type: 'string' },
    seed: { type: 'string' },
    now: { type: 'string' },
    bulk: { type: 'string', default: 'on' },
    /** pipeline: record DuckDB's statements for the floor role (trace.ts). */
    trace: { type: 'boolean', default: false },
  },
});
const feed = values.feed as BenchFeed;
if (!benchFeeds.includes(feed) || !values.dir)
  throw new Error(`usage: child.js <role> --feed F --dir D (${values.feed})`);
const dir = values.dir;
const run = Number(values.run);

let result: unknown;
switch (positionals[0]) {
  // Imported by role, so a pipeline process loads no more than the pipeline needs.
  case 'produce': {
    const { produce } = await import('./produce.js');
    result = await produce(feed, Number(values.records), dir, { seed: Number(values.seed), now: Number(values.now) });
    break;
  }
  case 'pipeline': {
    const { pipelineRun } = await import('./pipeline-run.js');
    result = await pipelineRun(feed, dir, run, values.bulk !== 'off', values.trace);
    break;
  }
  case 'floor': {
    const { floorRun } = await import('./floor-run.js');
    result = await floorRun(feed, dir, run, values.bulk !== 'off');
    break;
  }
  case 'reference': {
    const { referenceRun } = await import('./reference-run.js');
    result = await referenceRun(feed, dir, run);
    break;
  }
  default:
    throw new Error(`unknown role ${positionals[0]}`);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
