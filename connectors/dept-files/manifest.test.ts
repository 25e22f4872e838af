import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeliveryManifest } from './manifest.js';

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityhub-manifest-'));
  path = join(dir, 'xihu-cg', 'manifest.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const stamp = (name: string, mtimeMs = 1_000) => ({ name, size: 10, mtimeMs });
const sha = 'a'.repeat(64);

describe('the delivery manifest', () => {
  it('keeps every taken file across restarts, appending one journal line per file and compacting at open', async () => {
    const manifest = await DeliveryManifest.open(path);
    await manifest.record(stamp('R1_a.csv'), sha, { resourceCode: 'R1', deliveryId: 'R1-aaaa', outcome: 'complete' });
    await manifest.record(stamp('R1_b.csv'), sha, {
      resourceCode: 'R1',
      deliveryId: 'R1-aaaa-r1',
      outcome: 'redelivery',
    });
    await manifest.record(stamp('R9_c.csv'), 'b'.repeat(64));
    // Never closed: as after a crash. Each record is a whole line, already durable.
    expect((await readFile(`${path}.journal`, 'utf8')).trim().split('\n')).toHaveLength(3);
    const reopened = await DeliveryManifest.open(path);
    expect(existsSync(`${path}.journal`)).toBe(false);
    expect(reopened.isTaken(stamp('R1_a.csv'))).toBe(true);
    expect(reopened.isTaken(stamp('R1_a.csv', 2_000))).toBe(false);
    expect(reopened.isTaken(stamp('R9_c.csv'))).toBe(true);
    expect(reopened.deliveryOf('R1', sha)).toEqual({ delivery_id: 'R1-aaaa', redeliveries: 1 });
    await reopened.close();
    await manifest.close();
    // Opening twice more changes nothing: replaying is idempotent.
    expect((await DeliveryManifest.open(path)).deliveryOf('R1', sha)).toEqual({
      delivery_id: 'R1-aaaa',
      redeliveries: 1,
    });
  });

  it('drops a torn last line (a crash mid-append: that file was never recorded) and keeps the lines before it', async () => {
    const manifest = await DeliveryManifest.open(path);
    await manifest.record(stamp('R1_a.csv'), sha, { resourceCode: 'R1', deliveryId: 'R1-aaaa', outcome: 'complete' });
    await manifest.close();
    await appendFile(`${path}.journal`, '{"name":"R1_b.csv","file":{"si');
    const reopened = await DeliveryManifest.open(path);
    expect(reopened.isTaken(stamp('R1_a.csv'))).toBe(true);
    expect(reopened.isTaken(stamp('R1_b.csv'))).toBe(false);
  });

  it('reads a manifest written whole by the previous version', async () => {
    await rm(dir, { recursive: true, force: true });
    await mkdir(join(dir, 'xihu-cg'), { recursive: true });
    await writeFile(
      path,
      JSON.stringify({
        version: 1,
        files: { 'R1_a.csv': { size: 10, mtime_ms: 1_000, sha256: sha, delivery_id: 'R1-aaaa' } },
        deliveries: { [`R1:${sha}`]: { delivery_id: 'R1-aaaa', redeliveries: 2 } },
      }),
    );
    const manifest = await DeliveryManifest.open(path);
    expect(manifest.isTaken(stamp('R1_a.csv'))).toBe(true);
    expect(manifest.deliveryOf('R1', sha)).toEqual({ delivery_id: 'R1-aaaa', redeliveries: 2 });
  });

  it('bytes whose delivery failed part-way stay undelivered until a delivery completes; later ones re-deliver that one', async () => {
    const manifest = await DeliveryManifest.open(path);
    await manifest.record(stamp('a'), sha, { resourceCode: 'R1', deliveryId: 'R1-aaaa', outcome: 'incomplete' });
    expect(manifest.deliveryOf('R1', sha)).toEqual({ delivery_id: 'R1-aaaa', redeliveries: 0, incomplete: true });
    await manifest.record(stamp('b'), sha, { resourceCode: 'R1', deliveryId: 'R1-aaaa-r1', outcome: 'complete' });
    expect(manifest.deliveryOf('R1', sha)).toEqual({
      delivery_id: 'R1-aaaa',
      redeliveries: 1,
      complete_id: 'R1-aaaa-r1',
    });
    await manifest.close();
  });
});
