/**
 * The demo's drop folder: delivery files written where its dept-files connectors watch, one sub-folder per format
 * (`<inbox>/csv`, `<inbox>/xlsx`, `<inbox>/ndjson`). Each file is written under a dot-name (which the watcher
 * ignores), fsynced and renamed into place, so a watcher never sees half a file.
 *
 * Once only: a file is never written twice — a second copy would be a re-delivery to the connector's manifest. The
 * history's files are written up front; `.demo-history.json` records that they all were, and before that (a crash
 * part-way) a file already in its folder or in its `done/` is passed over.
 */
import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { syncFolder } from '../files.js';
import { renderDeptFile } from './dept-render.js';
import { type DeptFile, deptFileFormats } from './types.js';

/** Where the dept-files connector moves delivered files (connectors/dept-files/folder.ts DONE_FOLDER). */
const DONE = 'done';
const HISTORY_MARKER = '.demo-history.json';

interface HistoryMarker {
  history: string;
  files: number;
}

/** History files written at once (each is written, fsynced and renamed on its own). */
const HISTORY_WRITES_AT_ONCE = 8;

export class DemoInbox {
  private created = false;

  constructor(readonly root: string) {}

  folderOf(file: Pick<DeptFile, 'format'>): string {
    return join(this.root, file.format);
  }

  /** Creates the format folders, so the connectors watching them find them at start. */
  async create(): Promise<void> {
    for (const format of deptFileFormats) await mkdir(join(this.root, format), { recursive: true });
    this.created = true;
  }

  /**
   * Writes every history file not written before; `history` identifies the generated history (seed, span, scale).
   * Returns how many files it wrote now.
   */
  async writeHistory(history: string, files: readonly DeptFile[]): Promise<number> {
    await this.create();
    const marker = await this.readMarker();
    if (marker?.history === history && marker.files === files.length) return 0;
    let written = 0;
    // Several at a time: each file is fsynced, and the hub's connectors start only once all of them are written.
    let next = 0;
    const writeNext = async () => {
      while (next < files.length) if (await this.write(files[next++]!)) written++;
    };
    await Promise.all(Array.from({ length: Math.min(HISTORY_WRITES_AT_ONCE, files.length) }, writeNext));
    for (const format of deptFileFormats) await syncFolder(join(this.root, format));
    await this.writeAtomically(
      this.root,
      HISTORY_MARKER,
      Buffer.from(JSON.stringify({ history, files: files.length })),
    );
    return written;
  }

  /** Writes one file unless it is already there or delivered; false when it was. */
  async write(file: DeptFile): Promise<boolean> {
    if (!this.created) await this.create();
    const folder = this.folderOf(file);
    if ((await exists(join(folder, file.name))) || (await exists(join(folder, DONE, file.name)))) return false;
    await this.writeAtomically(folder, file.name, renderDeptFile(file));
    return true;
  }

  private async writeAtomically(folder: string, name: string, bytes: Buffer): Promise<void> {
    const temporary = join(folder, `.${name}.tmp`);
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, join(folder, name));
  }

  private async readMarker(): Promise<HistoryMarker | undefined> {
    try {
      return JSON.parse(await readFile(join(this.root, HISTORY_MARKER), 'utf8')) as HistoryMarker;
    } catch {
      return undefined; // absent (or torn by a crash): the files' own presence decides
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
