/**
 * Measures the dept-files connector on the 1,000,000-row GBK csv of issue 7: rows/s and peak RSS of ingesting it
 * into a real embedded bus (fsync always) from a folder and from s3rver. A measurement, not a test:
 * `npm run build && node dist/connectors/dept-files/measure.js [rows]`. The file is generated and uploaded by child
 * processes, so the peak RSS is the connector's (module loading included).
 *
 * `node dist/connectors/dept-files/measure.js files [count]` measures the per-file cost instead: files/s of a folder
 * of `count` (default 500) small GBK csv deliveries, each a title row, a header and 20 rows, one in ten with a bad
 * row.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import pino from 'pino';
import { openEmbeddedBus } from '../../pipelines/bus/embedded/index.js';
import { SourceCheckpoint } from '../source-checkpoint.js';
import { deptFilesConnectorConfig } from './config.js';
import { DeptFilesConnector } from './connector.js';
import { FileFixtures, gb18030 } from './read/fixtures.js';
import { startS3rver } from './s3rver-peer.js';
import { resources, topics } from './testing.js';

const log = pino({ level: 'silent' });
const mib = (bytes: number) => +(bytes / 1024 / 1024).toFixed(1);

const upload = `
const { S3Client, PutObjectCommand } = require(process.argv[1]);
const fs = require('node:fs');
const c = new S3Client({ region: 'us-east-1', endpoint: process.argv[2], forcePathStyle: true,
  // s3rver stores an aws-chunked body (the SDK's default streaming checksum) as it came: send it plain.
  requestChecksumCalculation: 'WHEN_REQUIRED',
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
c.send(new PutObjectCommand({ Bucket: 'deliveries', Key: 'dept/R330106003_big.csv',
  Body: fs.createReadStream(process.argv[3]), ContentLength: fs.statSync(process.argv[3]).size }))
  .then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
`;

async function ingest(
  dir: string,
  source: Record<string, unknown>,
  rows: number,
  files = 1,
  overrides: Record<string, unknown> = {},
) {
  const bus = await openEmbeddedBus({ dir: join(dir, 'bus'), fsync: 'always' });
  try {
    for (const topic of topics) await bus.ensureTopic(topic, { partitions: 2 });
    const config = deptFilesConnectorConfig.parse({
      id: 'measure',
      kind: 'dept-files',
      source,
      read: { format: 'csv', encoding: 'gbk', header_row: 2 },
      resource: { from: 'fixed', resource_code: 'R330106004' },
      once: true,
      ...overrides,
    });
    const checkpoint = await SourceCheckpoint.open(join(dir, 'checkpoints', 'measure.json'), { bus, topics, log });
    const connector = new DeptFilesConnector(config, join(dir, 'inbox'), join(dir, 'checkpoints', 'measure'));
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    const t0 = performance.now();
    await connector.start({ producer: checkpoint.guard(bus.producer()), checkpoint, log, dataResources: resources });
    await connector.done;
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const progress = connector.health().progress!;
    return {
      ...progress,
      seconds: +seconds.toFixed(2),
      rows_per_s: Math.round(rows / seconds),
      files_per_s: +(files / seconds).toFixed(1),
      peak_rss_mib: mib(Math.max(peak, process.memoryUsage().rss)),
    };
  } finally {
    await bus.close();
  }
}

async function main(): Promise<void> {
  const rows = Number(process.argv[2] ?? 1_000_000);
  const fixtures = new FileFixtures();
  const s3 = await startS3rver(['deliveries']);
  try {
    const file = fixtures.path('big-gbk.csv');
    const generator = join(import.meta.dirname, 'read', 'measure.js');
    execFileSync(process.execPath, [generator, '--generate', file, String(rows)], { stdio: 'inherit' });
    const sdk = createRequire(import.meta.url).resolve('@aws-sdk/client-s3');
    execFileSync(process.execPath, ['-e', upload, sdk, s3.endpoint, file], { stdio: 'inherit' });
    const folderDir = join(fixtures.dir, 'folder');
    await mkdir(join(folderDir, 'inbox'), { recursive: true });
    await rename(file, join(folderDir, 'inbox', 'R330106003_big.csv'));
    const size = (await stat(join(folderDir, 'inbox', 'R330106003_big.csv'))).size;
    const folder = await ingest(folderDir, { type: 'folder', path: 'inbox', settle_ms: 0 }, rows);
    const fromS3 = await ingest(
      join(fixtures.dir, 's3'),
      {
        type: 's3',
        bucket: 'deliveries',
        prefix: 'dept/',
        endpoint: s3.endpoint,
        force_path_style: true,
        access_key_id: 'S3RVER',
        secret_access_key: 'S3RVER',
      },
      rows,
    );
    process.stdout.write(`${JSON.stringify({ rows, file_mib: mib(size), folder, s3: fromS3 })}\n`);
  } finally {
    await s3.close();
    fixtures.cleanup();
  }
}

/** `count` small GBK deliveries in one folder, ingested once: the per-file cost of the connector. */
async function manyFiles(count: number): Promise<void> {
  const fixtures = new FileFixtures();
  try {
    const inbox = join(fixtures.dir, 'inbox');
    await mkdir(inbox, { recursive: true });
    let rows = 0;
    for (let f = 0; f < count; f++) {
      const lines = ['西湖区城管局巡查台账', '名称,数量,日期'];
      for (let r = 0; r < 20; r++) lines.push(`文三路保洁巡查${f}-${r},${r},2026-08-0${1 + (r % 9)}`);
      if (f % 10 === 0) lines.push('保俶路巡查,不是数字,2026-08-01');
      rows += lines.length - 2;
      await writeFile(
        join(inbox, `R330106003_${String(f).padStart(5, '0')}.csv`),
        gb18030(`${lines.join('\r\n')}\r\n`),
      );
    }
    const result = await ingest(fixtures.dir, { type: 'folder', path: 'inbox', settle_ms: 0 }, rows, count, {
      read: { format: 'csv', encoding: 'gbk', header_row: 2 },
      resource: { from: 'file_name', pattern: '^(?<resource>R\\d+)_' },
    });
    process.stdout.write(`${JSON.stringify({ files: count, rows, folder: result })}\n`);
  } finally {
    fixtures.cleanup();
  }
}

if (process.argv[2] === 'files') await manyFiles(Number(process.argv[3] ?? 500));
else await main();
