/**
 * Turns one send's messages into one encoded batch per target partition: its records cut into batch frames of
 * about BATCH_TARGET_BYTES (frame.ts). Everything is copied into the batches before send() first yields, so callers
 * may reuse their message objects as soon as send() returns a promise. Two passes over the messages (route and
 * size, then encode) with scratch arrays reused across sends: no per-message allocation besides what UTF-8
 * encoding of string values needs.
 */
import { MessageTooLargeError } from '../errors.js';
import { headerBlockBytes } from '../headers.js';
import type { ProduceMessage } from '../types.js';
import { EmbeddedBusArgumentError } from './errors.js';
import { BATCH_TARGET_BYTES, closeBatch, FRAME_OVERHEAD_BYTES, openBatch, recordBytes, writeRecord } from './frame.js';
import type { EncodedBatch } from './partition.js';
import { partitionForKey } from './partitioner.js';
import { writeUtf8 } from './utf8.js';

/** One send may put at most this much into one partition (keeps segment positions far below 2^32). */
export const MAX_BATCH_BYTES = 512 * 1024 * 1024;

export interface RoutedBatch {
  partition: number;
  batch: EncodedBatch;
}

/** Round-robin cursor for null keys, one per topic. */
export interface RoundRobin {
  next: number;
}

// Scratch space, valid only during one synchronous encodeMessages call.
let keyBytes: Buffer = Buffer.allocUnsafeSlow(64 * 1024);
let targets = new Int32Array(1024);
let keyStarts = new Int32Array(1024);
let keyLengths = new Int32Array(1024);
let valueLengths = new Int32Array(1024);
/** Bytes of each message's headers block, 0 when it has none. */
let headerBytes = new Int32Array(1024);
let timestamps = new Float64Array(1024);
/** 1 where the message opens a new batch frame of its partition. */
let opensBatch = new Uint8Array(1024);

/**
 * Encodes a send for `topic`. Every message is checked (and sized) before anything is encoded, so a send holding
 * one message over `maxMessageBytes` (key + value + headers block bytes) throws MessageTooLargeError naming the
 * first such message, one with headers beyond the limits InvalidHeadersError, and nothing of it reaches a partition.
 */
export function encodeMessages(
  topic: string,
  messages: readonly ProduceMessage[],
  partitions: number,
  roundRobin: RoundRobin,
  now: number,
  maxMessageBytes: number,
): RoutedBatch[] {
  const n = messages.length;
  if (targets.length < n) growMessageScratch(n);
  const sizes = new Array<number>(partitions).fill(0);
  const counts = new Array<number>(partitions).fill(0);
  /** Bytes of records in each partition's open batch frame; -1 while none is open. */
  const batchFill = new Array<number>(partitions).fill(-1);
  let keyAt = 0;
  for (let i = 0; i < n; i++) {
    const message = messages[i];
    if (typeof message !== 'object' || message === null) {
      throw new EmbeddedBusArgumentError(`messages[${i}]`, message, 'an object with a value');
    }
    const { key, value, timestamp, headers } = message;
    let partition: number;
    let keyLength = -1;
    if (key === null || key === undefined) {
      partition = roundRobin.next++ % partitions;
      if (roundRobin.next >= 0x40000000) roundRobin.next = 0;
    } else if (typeof key === 'string') {
      if (keyBytes.length - keyAt < key.length * 3) keyBytes = grow(keyBytes, keyAt, keyAt + key.length * 3);
      keyLength = writeUtf8(keyBytes, key, keyAt, keyBytes.length - keyAt);
      partition = partitionForKey(keyBytes, keyAt, keyLength, partitions);
    } else {
      throw new EmbeddedBusArgumentError(`messages[${i}].key`, key, 'a string, null or undefined');
    }
    let valueLength: number;
    if (typeof value === 'string') valueLength = Buffer.byteLength(value, 'utf8');
    else if (Buffer.isBuffer(value)) valueLength = value.length;
    else throw new EmbeddedBusArgumentError(`messages[${i}].value`, value, 'a Buffer or a string');
    let ts = now;
    if (timestamp !== undefined) {
      if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) {
        throw new EmbeddedBusArgumentError(`messages[${i}].timestamp`, timestamp, 'finite epoch milliseconds');
      }
      ts = timestamp;
    }
    const headersBytes = headers === undefined ? 0 : headerBlockBytes(headers, topic, i);
    const messageBytes = Math.max(keyLength, 0) + headersBytes + valueLength;
    if (messageBytes > maxMessageBytes) throw new MessageTooLargeError(topic, i, messageBytes, maxMessageBytes);
    const bytes = recordBytes(messageBytes);
    const fill = batchFill[partition]!;
    if (fill < 0 || fill + bytes > BATCH_TARGET_BYTES) {
      opensBatch[i] = 1;
      sizes[partition]! += FRAME_OVERHEAD_BYTES;
      batchFill[partition] = bytes;
    } else {
      opensBatch[i] = 0;
      batchFill[partition] = fill + bytes;
    }
    targets[i] = partition;
    keyStarts[i] = keyAt;
    keyLengths[i] = keyLength;
    valueLengths[i] = valueLength;
    headerBytes[i] = headersBytes;
    timestamps[i] = ts;
    if (keyLength > 0) keyAt += keyLength;
    sizes[partition]! += bytes;
    counts[partition]!++;
  }

  const buffers: (Buffer | undefined)[] = new Array(partitions);
  const positions = new Array<number>(partitions).fill(0);
  const maxTimestamps = new Array<number>(partitions).fill(-Infinity);
  /** Per partition, the open batch frame: where it starts, its records and their newest timestamp. */
  const batchStarts = new Array<number>(partitions).fill(-1);
  const batchCounts = new Array<number>(partitions).fill(0);
  const batchMaxTimestamps = new Array<number>(partitions).fill(-Infinity);
  for (let p = 0; p < partitions; p++) {
    if (sizes[p]! > MAX_BATCH_BYTES) {
      throw new EmbeddedBusArgumentError(
        'messages',
        messages,
        `at most ${MAX_BATCH_BYTES} bytes per partition per send`,
      );
    }
    if (counts[p]! > 0) buffers[p] = Buffer.allocUnsafe(sizes[p]!);
  }
  for (let i = 0; i < n; i++) {
    const p = targets[i]!;
    const ts = timestamps[i]!;
    const headersBytes = headerBytes[i]!;
    const buffer = buffers[p]!;
    if (opensBatch[i] === 1) {
      if (batchStarts[p]! >= 0)
        closeBatch(buffer, batchStarts[p]!, positions[p]!, batchCounts[p]!, batchMaxTimestamps[p]!);
      batchStarts[p] = positions[p]!;
      positions[p] = openBatch(positions[p]!);
      batchCounts[p] = 0;
      batchMaxTimestamps[p] = -Infinity;
    }
    positions[p] = writeRecord(
      buffer,
      positions[p]!,
      ts,
      keyBytes,
      keyStarts[i]!,
      keyLengths[i]!,
      headersBytes > 0 ? messages[i]!.headers : undefined,
      headersBytes,
      messages[i]!.value,
      valueLengths[i]!,
    );
    batchCounts[p]!++;
    if (ts > batchMaxTimestamps[p]!) batchMaxTimestamps[p] = ts;
    if (ts > maxTimestamps[p]!) maxTimestamps[p] = ts;
  }
  for (let p = 0; p < partitions; p++) {
    if (batchStarts[p]! >= 0)
      closeBatch(buffers[p]!, batchStarts[p]!, positions[p]!, batchCounts[p]!, batchMaxTimestamps[p]!);
  }
  const routed: RoutedBatch[] = [];
  for (let p = 0; p < partitions; p++) {
    const buffer = buffers[p];
    if (buffer) routed.push({ partition: p, batch: { buffer, count: counts[p]!, maxTimestamp: maxTimestamps[p]! } });
  }
  return routed;
}

function grow(buffer: Buffer, used: number, needed: number): Buffer {
  const next = Buffer.allocUnsafeSlow(Math.max(needed, buffer.length * 2));
  buffer.copy(next, 0, 0, used);
  return next;
}

function growMessageScratch(n: number): void {
  const size = Math.max(n, targets.length * 2);
  targets = new Int32Array(size);
  keyStarts = new Int32Array(size);
  keyLengths = new Int32Array(size);
  valueLengths = new Int32Array(size);
  headerBytes = new Int32Array(size);
  timestamps = new Float64Array(size);
  opensBatch = new Uint8Array(size);
}
