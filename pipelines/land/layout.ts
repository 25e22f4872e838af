/**
 * The lake's file names (docs/lake.md). A name is a pure function of where its rows came from on the bus,
 * so landing the same offsets again after a crash overwrites instead of duplicating.
 */

const OFFSET_DIGITS = 20;

export interface FileCoordinates {
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
}

export function dataFileName(c: FileCoordinates): string {
  return `${c.topic}~${c.partition}~${String(c.firstOffset).padStart(OFFSET_DIGITS, '0')}~${String(c.lastOffset).padStart(OFFSET_DIGITS, '0')}.parquet`;
}

export function datasetFilePath(dataset: string, dt: string, c: FileCoordinates): string {
  return `${dataset}/dt=${dt}/${dataFileName(c)}`;
}

export function deadLetterFilePath(feed: string, dt: string, c: FileCoordinates): string {
  return `_dlq/${feed}/dt=${dt}/${dataFileName(c)}`;
}

const namePattern = /^(.+)~(\d+)~(\d{20})~(\d{20})\.parquet$/;

/** Parses a lake file name back into its bus coordinates; undefined for anything else. */
export function parseDataFileName(name: string): FileCoordinates | undefined {
  const match = namePattern.exec(name);
  if (!match) return undefined;
  return { topic: match[1]!, partition: Number(match[2]), firstOffset: Number(match[3]), lastOffset: Number(match[4]) };
}
