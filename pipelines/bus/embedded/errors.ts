import { CityhubError } from '../../errors.js';

/** Base of every error the embedded log throws, so callers can catch the whole family. */
export class EmbeddedBusError extends CityhubError {}

/**
 * A record that cannot be trusted: bad length, CRC mismatch, offsets out of sequence or a gap between segments.
 * Recovery only throws it for damage it must not repair silently (anything but the tail of the last segment).
 */
export class EmbeddedLogCorruptError extends EmbeddedBusError {
  readonly file: string;
  /** Byte position of the first bad frame in `file`. */
  readonly position: number;
  readonly reason: string;
  constructor(file: string, position: number, reason: string) {
    super(
      `corrupt log segment ${file} at byte ${position}: ${reason} (\`cityhub bus verify\` lists the damage, \`cityhub bus repair\` moves it aside: see docs/bus.md)`,
    );
    this.file = file;
    this.position = position;
    this.reason = reason;
  }
}

export type ClosedResource = 'bus' | 'producer' | 'consumer';

export class EmbeddedBusClosedError extends EmbeddedBusError {
  readonly resource: ClosedResource;
  readonly operation: string;
  constructor(resource: ClosedResource, operation: string) {
    super(`cannot ${operation}: the embedded bus ${resource} is closed`);
    this.resource = resource;
    this.operation = operation;
  }
}

/** Another live process (or another bus in this process) holds `<dir>/.lock`. */
export class EmbeddedBusLockedError extends EmbeddedBusError {
  readonly dir: string;
  readonly lockFile: string;
  readonly pid: number | null;
  constructor(dir: string, lockFile: string, pid: number | null) {
    const holder = pid === null ? 'another opener' : pid === process.pid ? 'this process' : `process ${pid}`;
    super(`the embedded bus at ${dir} is already open by ${holder} (lock file ${lockFile})`, { retriable: true });
    this.dir = dir;
    this.lockFile = lockFile;
    this.pid = pid;
  }
}

export class EmbeddedTopicNotFoundError extends EmbeddedBusError {
  readonly topic: string;
  constructor(topic: string) {
    super(`topic ${JSON.stringify(topic)} does not exist on the embedded bus (call ensureTopic first)`);
    this.topic = topic;
  }
}

/** A caller passed something the log cannot accept; retrying the same call cannot help. */
export class EmbeddedBusArgumentError extends EmbeddedBusError {
  readonly argument: string;
  readonly value: unknown;
  constructor(argument: string, value: unknown, expected: string) {
    super(`invalid ${argument}: expected ${expected}, got ${describeValue(value)}`);
    this.argument = argument;
    this.value = value;
  }
}

/** A consumer method called in a state that does not allow it (poll while polling, seek of an unowned partition). */
export class EmbeddedBusStateError extends EmbeddedBusError {}

/**
 * A write or fsync of a partition failed with an error no retry can outlive (a programming error, a read-only file
 * system), or the partition could not go back to a known state after a transient one. The partition refuses
 * further appends until the bus is reopened and recovery has truncated whatever was torn.
 */
export class EmbeddedPartitionFailedError extends EmbeddedBusError {
  readonly topic: string;
  readonly partition: number;
  readonly file: string;
  constructor(topic: string, partition: number, file: string, cause: unknown) {
    super(`partition ${topic}/${partition} is offline after an I/O error on ${file}: ${String(cause)}`, { cause });
    this.topic = topic;
    this.partition = partition;
    this.file = file;
  }
}

/**
 * A write or fsync of a partition failed with an error a later attempt can outlive (a full disk, a quota, an I/O
 * error: see isRetriable). The append, and every append queued or unsynced behind it, was refused; none of their
 * offsets was ever visible to a consumer. The partition went back to what is written and durable and accepts
 * appends again, so the producer backs off and sends the same messages again once the disk has room.
 */
export class EmbeddedWriteFailedError extends EmbeddedBusError {
  readonly topic: string;
  readonly partition: number;
  readonly file: string;
  /** The operating system's error code (ENOSPC, EDQUOT, EIO, …) when there is one. */
  readonly code: string | undefined;
  constructor(topic: string, partition: number, file: string, cause: unknown) {
    const code = (cause as { code?: unknown } | null)?.code;
    super(
      `append to ${topic}/${partition} refused: writing ${file} failed (${typeof code === 'string' ? code : String(cause)}); nothing of it was acknowledged, send it again later`,
      { cause, retriable: true },
    );
    this.topic = topic;
    this.partition = partition;
    this.file = file;
    this.code = typeof code === 'string' ? code : undefined;
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value === null || typeof value !== 'object') return String(value);
  return 'an object';
}
