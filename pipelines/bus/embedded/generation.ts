/**
 * `<dir>/bus.json` holds the bus's generation: a random id made once, when the folder is first opened, and kept for
 * its life. Offsets restart at 0 in a new bus folder, so anything that names data by offset (the lake's files) must
 * also know which bus the offsets came from.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { join } from 'node:path';
import { EmbeddedLogCorruptError } from './errors.js';
import { isErrno, writeFileAtomic } from './fs-util.js';

export const BUS_FILE = 'bus.json';

/** The generation stored in `dir`, created (durably: tmp, fsync, rename, fsync of the folder) when missing. */
export async function loadOrCreateGeneration(dir: string): Promise<string> {
  const file = join(dir, BUS_FILE);
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
    const generation = randomUUID();
    // Always durable, whatever the fsync policy: a generation that changed after a crash would disown the lake.
    await writeFileAtomic(file, `${JSON.stringify({ version: 1, generation }, null, 2)}\n`, true);
    return generation;
  }
  let generation: unknown;
  try {
    generation = (JSON.parse(text) as { generation?: unknown }).generation;
  } catch (err) {
    throw new EmbeddedLogCorruptError(file, 0, `unreadable bus metadata: ${String(err)}`);
  }
  if (typeof generation !== 'string' || generation === '') {
    throw new EmbeddedLogCorruptError(file, 0, 'bus metadata has no generation');
  }
  return generation;
}
