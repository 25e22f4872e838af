/**
 * Kill campaign: runs the demo hub once uninterrupted, then again with N SIGKILLs at random moments (most of them
 * while the connector is still sending the history, where a connector's in-flight batch is at stake), then lets it
 * finish. Compares lake rows per dataset, natural-key duplicates and dead letters per feed and reason. Exits 1 on
 * any difference. Usage: npm run build && node dist/bench/kill-campaign.js [--kills 10] [--seed 7] [--wire] [--keep]
 *
 * `--wire`: the demo sends over the real protocols (MQTT, webhooks, NDJSON pushes, a 12345 API) to the hub's network
 * connectors, as the built-in demo does. A killed hub's broker dies with it, so the demo re-sends the batch in flight
 * (as a real source re-sends what it had no acknowledgement for): the bus may then hold more messages and the lake
 * more `duplicate` dead letters than the uninterrupted run, never fewer; rows, natural keys and every other dead
 * letter must be identical.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { stringify } from 'yaml';
import { feeds, rawTopic } from '../connectors/types.js';
import { openEmbeddedBus } from '../pipelines/bus/embedded/index.js';
import { demoConfig, demoConnectors } from '../pipelines/config/load.js';
import { deadLetterTopic } from '../pipelines/normalize/connector-dead-letter.js';
import { packageRoot } from '../pipelines/package-root.js';
import { datasetMeta, datasetNames } from '../schemas/index.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '10' },
    seed: { type: 'string', default: '7' },
    scale: { type: 'string', default: '0.3' },
    keep: { type: 'boolean', default: false },
    wire: { type: 'boolean', default: false },
  },
});
const kills = Number(values.kills);
let rng = Number(values.seed) >>> 0 || 1;
/** xorshift32: the campaign's kill moments repeat for a seed. */
function random(): number {
  rng ^= rng << 13;
  rng ^= rng >>> 17;
  rng ^= rng << 5;
  return (rng >>> 0) / 4294967296;
}

const cli = join(packageRoot(), 'bin', 'cityhub.js');

async function writeHubConfig(dir: string): Promise<string> {
  const file = join(dir, 'cityhub.yaml');
  const demo = {
    id: 'demo',
    kind: 'demo',
    seed: 11,
    start_month: '2026-05',
    months: 2,
    scale: Number(values.scale),
    batch_size: 150,
    live: false,
    inbox: 'inbox',
  };
  const [wireDemo, ...network] = demoConnectors(await freePorts());
  const connectors = values.wire
    ? [
        { ...wireDemo, ...demo },
        ...network.filter((c) => c.kind !== 'dept-files'),
        ...deptFilesOf(demoConfig.connectors),
      ]
    : [demo, ...deptFilesOf(demoConfig.connectors)];
  const config = {
    region_code: '330000',
    data_dir: join(dir, 'data'),
    privacy: { hmac_key: 'kill-campaign-key-0123456789' },
    // Small sends: many acknowledged-but-not-committed windows for a kill to hit. The departments deliver files into
    // the inbox, read by dept-files connectors as in the built-in demo config.
    connectors,
    landing: { max_rows: 2000, max_age_ms: 2000 },
    models: { schedule: '0 0 1 1 *' },
  };
  await writeFile(file, stringify(config));
  return file;
}

/** Three free loopback ports, held together while chosen so they differ (the run's listeners bind them). */
async function freePorts(): Promise<{ mqtt: number; ingest: number; hotlineApi: number }> {
  const servers = await Promise.all(
    [0, 1, 2].map(
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const [mqtt, ingest, hotlineApi] = servers.map((s) => (s.address() as AddressInfo).port) as [number, number, number];
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return { mqtt, ingest, hotlineApi };
}

/** The built-in demo config's dept-files connectors, reading this campaign's inbox, bounded (`once`). */
function deptFilesOf(connectors: readonly { kind: string }[]): object[] {
  return connectors
    .filter((c): c is typeof c & { source: { path: string } } => c.kind === 'dept-files')
    .map((c) => ({
      ...c,
      source: { ...c.source, path: c.source.path.replace('data/demo-inbox', 'inbox') },
      once: true,
    }));
}

/** Runs the CLI; resolves with its exit code or signal, and when (ms after start) it first printed each marker. */
function run(
  args: string[],
  killAfterMs?: number,
  markers: RegExp[] = [],
): Promise<{ exit: string; at: number[]; lastOutputMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const at: number[] = [];
    let lastOutputMs = 0;
    let tail = '';
    const watch = (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-4000);
      if (/dept-files|demo history/.test(chunk.toString('utf8'))) lastOutputMs = Date.now() - started;
      markers.forEach((marker, i) => {
        if (at[i] === undefined && marker.test(tail)) at[i] = Date.now() - started;
      });
    };
    child.stdout.on('data', watch);
    child.stderr.on('data', watch);
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0 && code !== null && signal === null) process.stderr.write(tail);
      resolve({ exit: signal ?? String(code), at, lastOutputMs });
    });
  });
}

interface LakeFigures {
  /** Messages each topic of the bus holds: a connector that re-sent a batch appended more. */
  bus: Record<string, number>;
  rows: Record<string, number>;
  duplicates: Record<string, number>;
  deadLetters: Record<string, number>;
}

async function figures(dataDir: string): Promise<LakeFigures> {
  const lake = join(dataDir, 'lake');
  const out: LakeFigures = { bus: {}, rows: {}, duplicates: {}, deadLetters: {} };
  const bus = await openEmbeddedBus({ dir: join(dataDir, 'bus') });
  try {
    for (const topic of feeds.flatMap((feed) => [rawTopic(feed), deadLetterTopic(feed)]))
      for (const { highWatermark } of await bus.describe(topic)) out.bus[topic] = (out.bus[topic] ?? 0) + highWatermark;
  } finally {
    await bus.close();
  }
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  try {
    const scan = (glob: string) => `read_parquet('${glob}', union_by_name = true)`;
    for (const dataset of datasetNames) {
      const key = datasetMeta(dataset).natural_key.join(', ');
      const glob = join(lake, dataset, '*', '*.parquet');
      if (!existsSync(join(lake, dataset))) continue;
      const [[rows, distinct]] = (
        await db.runAndReadAll(`select count(*), count(distinct (${key})) from ${scan(glob)}`)
      ).getRows() as [[bigint, bigint]];
      out.rows[dataset] = Number(rows);
      out.duplicates[dataset] = Number(rows) - Number(distinct);
    }
    if (existsSync(join(lake, '_dlq'))) {
      const reader = await db.runAndReadAll(
        `select feed || ' ' || reason_code, count(*) from ${scan(join(lake, '_dlq', '*', '*', '*.parquet'))} group by all order by 1`,
      );
      for (const [what, n] of reader.getRows() as [string, bigint][]) out.deadLetters[what] = Number(n);
    }
  } finally {
    db.closeSync();
    instance.closeSync();
  }
  return out;
}

function differences(
  a: Record<string, number>,
  b: Record<string, number>,
  allowed: (key: string, uninterrupted: number, killed: number) => boolean = () => false,
): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys
    .filter((k) => a[k] !== b[k] && !allowed(k, a[k] ?? 0, b[k] ?? 0))
    .map((k) => `${k}: uninterrupted ${a[k] ?? 0}, killed ${b[k] ?? 0}`);
}

const root = await mkdtemp(join(tmpdir(), 'cityhub-kill-campaign-'));
try {
  const calmDir = join(root, 'uninterrupted');
  const killedDir = join(root, 'killed');
  for (const dir of [calmDir, killedDir]) await mkdir(dir);
  const calmConfig = await writeHubConfig(calmDir);
  const calm = await run(['run', '--config', calmConfig, '--for', '1s'], undefined, [
    /hub running/,
    /demo history sent/,
  ]);
  if (calm.exit !== '0') throw new Error(`the uninterrupted run exited ${calm.exit}`);
  // The window where sources are sending: from the start of the hub until the history is sent and the drop folders
  // are delivered (the last line a source printed).
  const [sendingFrom = 0, historySent = 5000] = calm.at;
  const sendingTo = Math.max(historySent, calm.lastOutputMs);
  console.log(`uninterrupted run done; its sources sent from ${sendingFrom} to ${sendingTo} ms after start`);

  const killedConfig = await writeHubConfig(killedDir);
  for (let k = 1; k <= kills; k++) {
    // Three kills in four land while the history is being sent, the rest while it is landing.
    const span = (sendingTo - sendingFrom) * (random() < 0.75 ? 1 : 3);
    const at = Math.round(sendingFrom + random() * span);
    const outcome = await run(['run', '--config', killedConfig], at);
    console.log(`kill ${k}/${kills} at ${at} ms: ${outcome.exit === 'SIGKILL' ? 'killed' : `exited ${outcome.exit}`}`);
  }
  const last = await run(['run', '--config', killedConfig, '--for', '1s']);
  if (last.exit !== '0') throw new Error(`the final run exited ${last.exit}`);

  const expected = await figures(join(calmDir, 'data'));
  const got = await figures(join(killedDir, 'data'));
  // Over the wire a re-sent batch is new traffic to the hub: more bus messages and `duplicate` dead letters, never fewer.
  const resent = (key: string, uninterrupted: number, killed: number) =>
    values.wire === true && killed > uninterrupted && (key.startsWith('raw.') || key.endsWith(' duplicate'));
  const problems = [
    ...differences(expected.bus, got.bus, resent).map((d) => `bus messages ${d}`),
    ...differences(expected.rows, got.rows).map((d) => `rows ${d}`),
    ...differences(expected.duplicates, got.duplicates).map((d) => `natural-key duplicates ${d}`),
    ...differences(expected.deadLetters, got.deadLetters, resent).map((d) => `dead letters ${d}`),
  ];
  if (values.wire) {
    const extra = (a: Record<string, number>, b: Record<string, number>) =>
      Object.keys(b).reduce((sum, k) => sum + Math.max(0, (b[k] ?? 0) - (a[k] ?? 0)), 0);
    console.log(
      `re-sent over the wire after kills: ${extra(expected.bus, got.bus)} bus messages more than uninterrupted`,
    );
  }
  const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  console.log(
    `lake rows ${total(got.rows)} (uninterrupted ${total(expected.rows)}), dead letters ${total(got.deadLetters)} (uninterrupted ${total(expected.deadLetters)})`,
  );
  if (problems.length > 0) {
    for (const p of problems) console.log(`DIFFERENT ${p}`);
    process.exitCode = 1;
  } else console.log(`identical after ${kills} kills`);
} finally {
  if (values.keep) console.log(`kept ${root}`);
  else await rm(root, { recursive: true, force: true });
}
