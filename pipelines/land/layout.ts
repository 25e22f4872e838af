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
  /**
   * Short id of the bus generation the offsets belong to: a new, empty bus over an existing lake numbers its
   * offsets from 0 again, and its files must never take the names (or the place) of the earlier bus's files.
   * Absent in lakes written before generations existed.
   */
  generation?: string;
}

export function dataFileName(c: FileCoordinates): string {
  const generation = c.generation ? `~${c.generation}` : '';
  return `${c.topic}~${c.partition}~${String(c.firstOffset).padStart(OFFSET_DIGITS, '0')}~${String(c.lastOffset).padStart(OFFSET_DIGITS, '0')}${generation}.parquet`;
}

export function datasetFilePath(dataset: string, dt: string, c: FileCoordinates): string {
  return `${dataset}/dt=${dt}/${dataFileName(c)}`;
}

export function deadLetterFilePath(feed: string, dt: string, c: FileCoordinates): string {
  return `_dlq/${feed}/dt=${dt}/${dataFileName(c)}`;
}

const namePattern = /^(.+)~(\d+)~(\d{20})~(\d{20})(?:~([0-9a-z]{1,32}))?\.parquet$/;

/** Parses a lake file name back into its bus coordinates; undefined for anything else. */
export function parseDataFileName(name: string): FileCoordinates | undefined {
  const match = namePattern.exec(name);
  if (!match) return undefined;
  return {
    topic: match[1]!,
    partition: Number(match[2]),
    firstOffset: Number(match[3]),
    lastOffset: Number(match[4]),
    ...(match[5] ? { generation: match[5] } : {}),
  };
}

/** The short form of a bus generation id used in file names: 12 lowercase hex/alphanumeric characters. */
export function generationTag(generation: string): string {
  return generation
    .toLowerCase()
    .replace(/[^0-9a-z]/g, '')
    .slice(0, 12);
}
