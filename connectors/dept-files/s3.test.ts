import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { s3ClientOf } from '../../pipelines/s3-client.js';
import { type S3rverPeer, startS3rver } from './s3rver-peer.js';
import { DeptHarness } from './testing.js';

const header = '名称,数量,日期';

describe('dept-files from an S3 prefix (s3rver)', () => {
  let h: DeptHarness;
  let server: S3rverPeer | undefined;
  let endpoint: string;
  let client: S3Client;
  beforeEach(async () => {
    h = new DeptHarness();
    await h.open();
    server = await startS3rver(['deliveries']);
    endpoint = server.endpoint;
    client = s3ClientOf(source().source);
  });
  afterEach(async () => {
    client?.destroy();
    await server?.close();
    await h.close();
  });

  const source = () => ({
    source: {
      type: 's3' as const,
      bucket: 'deliveries',
      prefix: 'dept/',
      endpoint,
      region: 'us-east-1',
      force_path_style: true,
      access_key_id: 'S3RVER',
      secret_access_key: 'S3RVER',
      max_keys: 2,
      poll_interval_ms: 10,
    },
  });
  const put = (key: string, body: string) =>
    client.send(new PutObjectCommand({ Bucket: 'deliveries', Key: key, Body: Buffer.from(body) }));
  const csv = (names: string[]) => `${header}\n${names.map((n, i) => `${n},${i + 1},2026-08-01`).join('\n')}\n`;

  it('delivers every object under the prefix across listing pages, once, and a changed object as a new delivery', async () => {
    for (let i = 1; i <= 5; i++) await put(`dept/R330106003/day-${i}.csv`, csv([`巡查${i}a`, `巡查${i}b`]));
    await put('other/R330106003/not-ours.csv', csv(['别处']));
    const config = h.config({ ...source(), resource: { from: 'folder' } });
    await h.run(config);
    // Polled again: nothing new, nothing sent again.
    await h.run(config);
    let out = await h.landed();
    expect(out.deliveries.map((d) => d.source_file).sort()).toEqual(
      [1, 2, 3, 4, 5].map((i) => `dept/R330106003/day-${i}.csv`),
    );
    expect(out.records).toHaveLength(10);

    await put('dept/R330106003/day-3.csv', csv(['巡查3a', '巡查3b', '巡查3c']));
    await h.run(config);
    out = await h.landed();
    const day3 = out.deliveries.filter((d) => d.source_file === 'dept/R330106003/day-3.csv');
    expect(day3.map((d) => d.record_count).sort()).toEqual([2, 3]);
    expect(new Set(day3.map((d) => d.delivery_id)).size).toBe(2);
    expect(out.records).toHaveLength(13);
    expect(out.received).toBe(out.landed + out.deadLetters.length);
  });
});
