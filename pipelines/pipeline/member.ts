/**
 * A pipeline process's id among the processes landing into one lake: it names the process's flush journal, so it
 * must stay the same across restarts (a restarted process finishes its own interrupted flush at once instead of
 * waiting for it as another's) and differ between processes. Kept in `<data_dir>/pipeline-member`; every pipeline
 * process has a data dir of its own (its scratch and staging files are there too).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

const MEMBER_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

export async function pipelineMember(dataDir: string): Promise<string> {
  const file = join(dataDir, 'pipeline-member');
  try {
    const id = (await readFile(file, 'utf8')).trim();
    if (MEMBER_ID.test(id)) return id;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const host = hostname()
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  const id = `${host || 'host'}-${randomBytes(6).toString('hex')}`;
  await mkdir(dataDir, { recursive: true });
  await writeFile(`${file}.tmp`, `${id}\n`);
  await rename(`${file}.tmp`, file);
  return id;
}
