/**
 * The published marts snapshot the API reads: the marts file opened read-only, reopened when a build swaps a new file
 * in (the swap is a rename, so the path then names another inode). A request leases the snapshot it started on and
 * keeps it to its last byte: a swap during a response neither blocks the build nor tears the response; the old file's
 * handle closes when its last lease is released.
 */
import { stat } from 'node:fs/promises';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { openMartsReadOnly, readQuery } from '../models/query.js';

export interface SnapshotInfo {
  /** The build that wrote the file (cityhub_run_log.build_id: the build's start, ISO 8601); the ETag. */
  snapshotId: string;
  /** When the file was published (its modification time). */
  builtAt: string;
  /** The build's data cut-off: 00:00 Asia/Shanghai of the build's day. */
  dataCutoff: string | null;
  /** The marts the snapshot holds. */
  models: string[];
  /** Per lake dataset, the latest day holding landed data (the feed's freshness). */
  latestDays: Record<string, string>;
  /** A hub rolling up member hubs: each member's last pull as of the build (hub_members). */
  members: MemberInfo[];
}

export interface MemberInfo {
  member_id: string;
  region_code: string;
  snapshot_id: string | null;
  pulled_at: string | null;
  checked_at: string | null;
  last_error: string | null;
  failures: number;
  stale_after_ms: number;
}

/** A snapshot held for one request: release it when the response is written. */
export interface SnapshotLease {
  info: SnapshotInfo;
  connection: DuckDBConnection;
  release(): void;
}

interface Opened {
  identity: string;
  instance: DuckDBInstance;
  /** Idle connections; a request takes one and gives it back (DuckDB runs one statement per connection at a time). */
  idle: DuckDBConnection[];
  all: DuckDBConnection[];
  info: SnapshotInfo;
  leases: number;
  retired: boolean;
}

/** How long a checked file identity is trusted before the next stat (bounds how late a swap is seen). */
const RECHECK_MS = 200;

export class MartsSnapshots {
  private current: Opened | undefined;
  private opening: Promise<Opened | undefined> | undefined;
  private checkedAt = 0;

  constructor(private readonly martsPath: string) {}

  /** The current snapshot, or undefined while no build has published one. */
  async acquire(): Promise<SnapshotLease | undefined> {
    const opened = await this.currentSnapshot();
    if (opened === undefined) return undefined;
    opened.leases++;
    const connection = opened.idle.pop() ?? (await this.connect(opened));
    let released = false;
    return {
      info: opened.info,
      connection,
      release: () => {
        if (released) return;
        released = true;
        opened.idle.push(connection);
        opened.leases--;
        if (opened.retired && opened.leases === 0) close(opened);
      },
    };
  }

  /** The current snapshot's description without holding it (readiness, status). */
  async info(): Promise<SnapshotInfo | undefined> {
    return (await this.currentSnapshot())?.info;
  }

  /** Closes the file once the requests holding it are done. */
  close(): void {
    const opened = this.current;
    this.current = undefined;
    if (opened !== undefined) retire(opened);
  }

  private async connect(opened: Opened): Promise<DuckDBConnection> {
    const connection = await opened.instance.connect();
    opened.all.push(connection);
    return connection;
  }

  private async currentSnapshot(): Promise<Opened | undefined> {
    const now = Date.now();
    if (this.current !== undefined && now - this.checkedAt < RECHECK_MS) return this.current;
    // One stat and at most one open at a time, whatever the number of requests waiting.
    this.opening ??= this.refresh().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async refresh(): Promise<Opened | undefined> {
    const identity = await fileIdentity(this.martsPath);
    this.checkedAt = Date.now();
    if (identity === this.current?.identity) return this.current;
    if (identity === undefined) return this.current;
    const { instance, connection } = await openMartsReadOnly(this.martsPath);
    const opened: Opened = {
      identity,
      instance,
      idle: [connection],
      all: [connection],
      info: await readInfo(connection, identity),
      leases: 0,
      retired: false,
    };
    const previous = this.current;
    this.current = opened;
    if (previous !== undefined) retire(previous);
    return opened;
  }
}

function retire(opened: Opened): void {
  opened.retired = true;
  if (opened.leases === 0) close(opened);
}

function close(opened: Opened): void {
  for (const connection of opened.all) connection.closeSync();
  opened.instance.closeSync();
}

/** dev, inode and modification time: a swapped-in file differs in all three from the one it replaced. */
async function fileIdentity(path: string): Promise<string | undefined> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.mtimeNs}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function readInfo(connection: DuckDBConnection, identity: string): Promise<SnapshotInfo> {
  const tables = await readQuery(
    connection,
    `select table_name from information_schema.tables where table_schema = 'main' order by table_name`,
  );
  const names = new Set(tables.rows.map((r) => String(r[0])));
  const first = async (sql: string) => (await readQuery(connection, sql)).rows[0]?.[0] ?? null;
  const snapshotId = names.has('cityhub_run_log') ? await first('select max(build_id) from cityhub_run_log') : null;
  const dataCutoff = names.has('hub_settings') ? await first('select data_cutoff from hub_settings') : null;
  const latestDays: Record<string, string> = {};
  if (names.has('hub_lake_days')) {
    const days = await readQuery(
      connection,
      'select dataset, cast(max(day) as varchar) from hub_lake_days group by dataset order by dataset',
    );
    for (const [dataset, day] of days.rows) latestDays[String(dataset)] = String(day);
  }
  const members: MemberInfo[] = [];
  if (names.has('hub_members')) {
    const rows = await readQuery(
      connection,
      'select member_id, region_code, snapshot_id, pulled_at, checked_at, last_error, failures, stale_after_ms from hub_members order by member_id',
    );
    for (const r of rows.rows) {
      members.push({
        member_id: String(r[0]),
        region_code: String(r[1]),
        snapshot_id: r[2] === null ? null : String(r[2]),
        pulled_at: r[3] === null ? null : String(r[3]),
        checked_at: r[4] === null ? null : String(r[4]),
        last_error: r[5] === null ? null : String(r[5]),
        failures: Number(r[6]),
        stale_after_ms: Number(r[7]),
      });
    }
  }
  const mtimeNs = BigInt(identity.split(':')[2]!);
  return {
    // A file without a run log (never written by a cityhub build) still gets an id that changes with the file.
    snapshotId: snapshotId === null ? `file-${identity.replaceAll(':', '-')}` : String(snapshotId),
    builtAt: new Date(Number(mtimeNs / 1_000_000n)).toISOString(),
    dataCutoff: dataCutoff === null ? null : String(dataCutoff),
    models: [...names].filter((n) => n.startsWith('mart_')),
    latestDays,
    members,
  };
}
