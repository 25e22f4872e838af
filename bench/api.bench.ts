/**
 * API bench (issue 11): requests/s and latency of GET /api/v1/aggregates at 100 concurrent connections on loopback
 * (autocannon), against the marts snapshot of a megacity year, served by `cityhub run --role api` in a process of its
 * own (autocannon runs in this one: on 2 cores, each gets about one).
 *   - "repeated pulls": 200 distinct queries an upper tier makes (indicator × grain × period × region), over and over:
 *     after the first answer of each, the API answers from its cache of encoded answers;
 *   - "distinct queries": every request a query never asked before (its limit differs), so each one runs in DuckDB.
 * The snapshot is built once from the megacity lake (bench/megacity, cached under the OS temp dir) and cached beside
 * it, keyed by the models' SQL; `--marts FILE` uses a snapshot of your own.
 * Usage: npm run bench:api -- [--scale 1] [--connections 100] [--duration 20] [--marts FILE] [--memory-limit 4GiB]
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { stringify } from 'yaml';
import { tokenHash } from '../pipelines/api/tokens.js';
import { queryMarts } from '../pipelines/models/query.js';
import { runModels } from '../pipelines/models/run.js';
import { packageRoot } from '../pipelines/package-root.js';
import { benchArgs } from './bench-args.js';
import { ensureMegacityLake, fullOptions, paths, readCatalogs } from './megacity/generate.js';

const USAGE = `Usage: npm run bench:api -- [--scale 1] [--connections 100] [--duration 20] [--marts FILE] [--memory-limit 4GiB]
  --scale S          megacity scale of the lake the snapshot is built from (default 1: a year)
  --connections N    concurrent connections (default 100)   --duration S  seconds per scenario (default 20)
  --marts FILE       a marts snapshot of your own instead of the generated one`;
const values = benchArgs(
  {
    scale: { type: 'string', default: '1' },
    days: { type: 'string', default: '365' },
    connections: { type: 'string', default: '100' },
    duration: { type: 'string', default: '20' },
    marts: { type: 'string' },
    'memory-limit': { type: 'string', default: '4GiB' },
  },
  USAGE,
);

async function sqlFingerprint(): Promise<string> {
  const sqlDir = join(packageRoot(), 'sql');
  const hash = createHash('sha256');
  for (const file of (await readdir(sqlDir, { recursive: true })).sort()) {
    if (!file.endsWith('.sql') && !file.endsWith('.json') && !file.endsWith('.csv')) continue;
    hash.update(file);
    hash.update(await readFile(join(sqlDir, file)));
  }
  return hash.digest('hex').slice(0, 16);
}

/** The megacity marts snapshot: built once per lake and models, kept beside the lake. */
async function ensureMarts(): Promise<string> {
  if (values.marts) return values.marts;
  const options = fullOptions({ scale: Number(values.scale), days: Number(values.days) });
  const dir = await ensureMegacityLake(options, { log: console.log });
  const marts = join(dir, `marts-${await sqlFingerprint()}.duckdb`);
  if (
    await access(marts).then(
      () => true,
      () => false,
    )
  ) {
    console.log(`marts: reusing ${marts}`);
    return marts;
  }
  const c = await readCatalogs(dir);
  console.log('marts: building the megacity snapshot (once; minutes at scale 1) …');
  const t0 = performance.now();
  await runModels({
    lakeDir: paths(dir).lake,
    martsPath: marts,
    sqlDir: join(packageRoot(), 'sql'),
    regionCode: c.regionCode,
    catalogs: c.catalogs,
    indicators: c.indicators,
    now: new Date(c.now),
    memoryLimit: values['memory-limit']!,
  });
  console.log(`marts: built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return marts;
}

interface Measured {
  scenario: string;
  requestsPerS: number;
  p50: number;
  p99: number;
  p999: number;
  non2xx: number;
  errors: number;
  total: number;
}

async function measure(
  scenario: string,
  base: string,
  token: string,
  paths: string[],
  distinct: boolean,
): Promise<Measured> {
  let n = 0;
  const result = await autocannon({
    url: base,
    connections: Number(values.connections),
    duration: Number(values.duration),
    headers: { authorization: `Bearer ${token}` },
    requests: [
      {
        method: 'GET',
        setupRequest: (request) => {
          const path = paths[n % paths.length]!;
          n++;
          // A limit no earlier request used makes the URL new: no cached answer, a query in DuckDB.
          return {
            ...request,
            path: distinct ? `${path}&limit=${1 + (n % 9999)}&offset=${Math.floor(n / 9999)}` : path,
          };
        },
      },
    ],
  });
  return {
    scenario,
    requestsPerS: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    p999: result.latency.p99_9,
    non2xx: result.non2xx,
    errors: result.errors,
    total: result.requests.total,
  };
}

async function main(): Promise<void> {
  const marts = await ensureMarts();
  const count = await queryMarts({ martsPath: marts, sql: 'select count(*) from mart_indicator_values' });
  const sample = await queryMarts({
    martsPath: marts,
    sql: `select indicator_code, grain, period, region_code from mart_indicator_values
          where grain in ('month', 'quarter', 'year') using sample reservoir(200 rows) repeatable (7)`,
  });
  const paths = sample.rows.map(
    ([code, grain, period, region]) =>
      `/api/v1/aggregates?indicator=${code}&grain=${grain}&period=${period}&region=${region}`,
  );
  console.log(`snapshot: ${marts} · mart_indicator_values ${count.rows[0]![0]} rows · ${cpus().length} cores`);

  const work = await mkdtemp(join(tmpdir(), 'cityhub-api-bench-'));
  const token = 'api-bench-token-0123456789abcdefgh';
  const hubRegion = String(
    (await queryMarts({ martsPath: marts, sql: 'select region_code from hub_settings' })).rows[0]![0],
  );
  // The hub's regions catalog, as the snapshot was built with (config check wants the hub's region listed).
  const regions = await queryMarts({
    martsPath: marts,
    sql: "select code, name, level, coalesce(parent_code, '') from seed_regions order by code",
  });
  await writeFile(
    join(work, 'regions.csv'),
    `code,name,level,parent_code\n${regions.rows.map((r) => r.join(',')).join('\n')}\n`,
  );
  const config = join(work, 'cityhub.yaml');
  await writeFile(
    config,
    stringify({
      region_code: hubRegion,
      data_dir: 'data',
      privacy: { salt: 'api-bench-salt-0123456789' },
      connectors: [{ id: 'demo', kind: 'demo', live: false }],
      catalogs: { regions: 'regions.csv', data_resources: 'none', scenarios: 'none', devices: 'none' },
      models: { marts_path: marts },
      api: {
        listen: '127.0.0.1:0',
        requests_per_minute: 100_000_000,
        tokens: [{ id: 'bench', sha256: tokenHash(token), regions: [hubRegion.slice(0, 2)] }],
      },
    }),
  );
  const server = spawn(
    process.execPath,
    [join(packageRoot(), 'bin', 'cityhub.js'), 'run', '--config', config, '--role', 'api'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise((resolve) => server.on('close', resolve));
  const results: Measured[] = [];
  try {
    const base = await new Promise<string>((resolve, reject) => {
      createInterface({ input: server.stdout! }).on('line', (line) => {
        const url = /api listening on (http:\S+)/.exec(line)?.[1];
        if (url) resolve(url);
      });
      server.on('close', (code) => reject(new Error(`the api process exited (${code}) before listening`)));
    });
    // Warm-up: the snapshot opened, the connections made, every repeated query answered once.
    await measure('warm-up', base, token, paths, false);
    results.push(await measure('repeated pulls (cached answers)', base, token, paths, false));
    results.push(await measure('distinct queries (DuckDB each)', base, token, paths, true));
  } finally {
    server.kill('SIGTERM');
    await exited;
    await rm(work, { recursive: true, force: true });
  }
  console.log(
    `\n${values.connections} connections, ${values.duration} s each, loopback, server and client each a process:`,
  );
  console.log(
    'scenario                          | requests/s | p50 ms | p99 ms | p99.9 ms | non-2xx | errors | requests',
  );
  console.log(
    '----------------------------------|------------|--------|--------|----------|---------|--------|---------',
  );
  for (const r of results) {
    console.log(
      `${r.scenario.padEnd(34)}| ${r.requestsPerS.toFixed(0).padStart(10)} | ${String(r.p50).padStart(6)} | ${String(r.p99).padStart(6)} | ${String(r.p999).padStart(8)} | ${String(r.non2xx).padStart(7)} | ${String(r.errors).padStart(6)} | ${r.total}`,
    );
  }
  if (results.some((r) => r.non2xx > 0 || r.errors > 0)) {
    console.error('some requests failed: the figures are not of a working API');
    process.exitCode = 1;
  }
}

await main();
