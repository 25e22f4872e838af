import { describe, expect, it } from 'vitest';
import { dataFileName, datasetFilePath, deadLetterFilePath, parseDataFileName } from './layout.js';

describe('lake file names (docs/lake.md)', () => {
  const range = { topic: 'raw.hotline', partition: 3, firstOffset: 9_800, lastOffset: 10_250 };

  it('name a dataset file by dataset, Shanghai day, partition and zero-padded offset range', () => {
    expect(datasetFilePath('hotline_case', '2026-08-01', range)).toBe(
      'hotline_case/dt=2026-08-01/raw.hotline~3~00000000000000009800~00000000000000010250.parquet',
    );
    expect(deadLetterFilePath('hotline', '2026-08-01', range)).toBe(
      '_dlq/hotline/dt=2026-08-01/raw.hotline~3~00000000000000009800~00000000000000010250.parquet',
    );
  });

  it('sort by offset when sorted as text', () => {
    const names = [10_000, 9, 200, 1_000_000].map((first) =>
      dataFileName({ topic: 'raw.sensor', partition: 0, firstOffset: first, lastOffset: first + 5 }),
    );
    expect([...names].sort()).toEqual([names[1], names[2], names[0], names[3]]);
  });

  it('parse back into the bus coordinates they were made from', () => {
    expect(parseDataFileName(dataFileName(range))).toEqual(range);
  });

  it('do not parse staged leftovers or foreign files', () => {
    expect(parseDataFileName(`${dataFileName(range)}.tmp`)).toBeUndefined();
    expect(parseDataFileName('part-0000.parquet')).toBeUndefined();
    expect(parseDataFileName('raw.sensor~0~12~13.parquet')).toBeUndefined();
  });
});
