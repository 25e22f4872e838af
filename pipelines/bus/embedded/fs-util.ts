/**
 * Thin promise wrappers over fd-based fs calls (cheaper than FileHandle on the hot path) and the atomic-replace
 * recipe shared by topic metadata and group offsets.
 */
import fs from 'node:fs';
import { dirname } from 'node:path';

export function readAt(fd: number, target: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, target, 0, length, position, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead)));
  });
}

/** Reads exactly `length` bytes at `position` unless the file ends first; returns the bytes read. */
export async function readFullyAt(fd: number, target: Buffer, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const n = await new Promise<number>((resolve, reject) => {
      fs.read(fd, target, done, length - done, position + done, (err, bytesRead) =>
        err ? reject(err) : resolve(bytesRead),
      );
    });
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Writes all of `buffers` at `position`, retrying short writes (a short write is not an error for write(2)). */
export async function writevAllAt(fd: number, buffers: Buffer[], position: number): Promise<void> {
  let pending = buffers;
  let at = position;
  while (pending.length > 0) {
    const written = await new Promise<number>((resolve, reject) => {
      fs.writev(fd, pending, at, (err, bytesWritten) => (err ? reject(err) : resolve(bytesWritten)));
    });
    at += written;
    let skip = written;
    let i = 0;
    while (i < pending.length && skip >= pending[i]!.length) skip -= pending[i++]!.length;
    pending = pending.slice(i);
    if (skip > 0 && pending.length > 0) pending[0] = pending[0]!.subarray(skip);
  }
}

export function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));
}

/** Makes a created, renamed or deleted directory entry durable: fsync of the file alone does not cover its name. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function fsyncDirSync(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Replaces `path` so a crash leaves either the old or the new content, never a mix: write `<path>.tmp`, fsync it,
 * rename over `path`, fsync the folder. With `durable` false the fsyncs are skipped: the rename still makes the
 * switch atomic for a process crash, just not for power loss.
 */
export async function writeFileAtomic(path: string, data: string | Buffer, durable: boolean): Promise<void> {
  const tmp = `${path}.tmp`;
  const handle = await fs.promises.open(tmp, 'w');
  try {
    await handle.writeFile(data);
    if (durable) await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(tmp, path);
  if (durable) await fsyncDir(dirname(path));
}

export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}
