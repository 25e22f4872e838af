/** Where landed files go. Implementations: LocalLakeStore (a folder); an S3 store follows the same contract. */
export interface LakeStore {
  /**
   * An empty local folder for multi-file output (DuckDB's partitioned writes) on the same file system as
   * stagingPath, so its files can be renamed there. Leftovers of a crash are removed by clearScratch().
   */
  scratchDir(id: string): Promise<string>;
  clearScratch(): Promise<void>;
  /** A local path DuckDB may write the file to before it is committed (folders created). */
  stagingPath(relPath: string): Promise<string>;
  /** Makes the staged files durable and visible under their final names; resolves only when they are. */
  commit(relPaths: string[]): Promise<void>;
  /** Every file path in the lake, relative to its root (staged `.tmp` leftovers included). */
  list(): Promise<string[]>;
  remove(relPath: string): Promise<void>;
  /** Writes a small file durably under its final name (replacing any previous one): the flush journal. */
  writeSmall(relPath: string, text: string): Promise<void>;
  /** Paths (relative to the lake root) of the small files under a work folder such as `_journal`, at any depth. */
  listWork(folder: string): Promise<string[]>;
  /** A small file's text, or undefined when it does not exist. */
  readSmall(relPath: string): Promise<string | undefined>;
  /**
   * Local paths of the most recently written Parquet files under `folder` (a dataset), newest first, at most
   * `limit`: where the natural keys a restarted pipeline must remember are.
   */
  recentFiles(folder: string, limit: number): Promise<string[]>;
}
