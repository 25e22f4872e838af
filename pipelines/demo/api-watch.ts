/**
 * What the demo's own process asks the hubs' tier APIs: whether a city has published marts holding its data (so the
 * province finds something to pull), and the province's roll-up as the national platform sees it.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls a hub's `GET /api/v1/snapshots/current` (with a token it granted) until its published marts hold landed
 * data: `/readyz` turns 200 at the first build, which may come before anything landed, and a province pulling that
 * would roll up nothing of the city. False when `signal` stops the wait first.
 */
export async function waitForLandedData(
  apiUrl: string,
  token: string,
  signal: AbortSignal,
  everyMs = 500,
): Promise<boolean> {
  while (!signal.aborted) {
    try {
      const response = await fetch(new URL('api/v1/snapshots/current', apiUrl), {
        headers: { authorization: `Bearer ${token}` },
        signal,
      });
      if (response.ok) {
        const snapshot = (await response.json()) as { latest_days?: Record<string, string> };
        if (Object.keys(snapshot.latest_days ?? {}).length > 0) return true;
      } else {
        await response.body?.cancel();
      }
    } catch {
      // Not listening yet (the hub starts its API after its connectors), or stopped: ask again.
    }
    try {
      await sleep(everyMs, undefined, { signal });
    } catch {
      return false;
    }
  }
  return false;
}

/** The indicators the demo shows of the roll-up: the two headline ones, then one of each other feed. */
export const shownIndicators = [
  'data_sharing_rate',
  'scenario_coverage_rate',
  'hotline_resolution_rate',
  'event_closure_rate',
  'sensor_online_rate',
] as const;

interface MemberStatus {
  member_id: string;
  snapshot_id: string | null;
  stale: boolean;
  last_error: string | null;
}

interface ValueRow {
  indicator_code: string;
  period: string;
  is_complete: boolean;
  value: number | null;
  numerator: number | null;
  denominator: number | null;
  member_count: number | null;
  source: string | null;
}

/** The roll-up report of one province snapshot, as lines (without the snapshot id: equal reports say the same). */
export function describeRollUp(regionCode: string, members: readonly MemberStatus[], rows: readonly ValueRow[]) {
  const fresh = members.filter((m) => !m.stale).map((m) => m.member_id);
  const stale = members.filter((m) => m.stale).map((m) => `${m.member_id} (${m.last_error ?? 'not pulled yet'})`);
  const lines = [
    `province roll-up ${regionCode}: ${fresh.length} of ${members.length} members pulled and fresh${fresh.length > 0 ? ` (${fresh.join(', ')})` : ''}${stale.length > 0 ? `; stale: ${stale.join(', ')}` : ''}`,
  ];
  const rollUps = rows.filter((r) => r.source === 'rollup');
  // The latest complete month leads, as a hub's own report does: a running month is never shown as if it were over.
  const months = [...new Set(rollUps.filter((r) => r.is_complete).map((r) => r.period))].sort();
  const month = months.at(-1);
  if (month === undefined) {
    lines.push('  no complete month rolled up yet');
    return lines;
  }
  for (const code of shownIndicators) {
    const row = rollUps.find((r) => r.period === month && r.indicator_code === code);
    const figure =
      row === undefined || row.value === null
        ? '   n/a'
        : `${(row.value * 100).toFixed(1).padStart(5)}% = ${formatNumber(row.numerator)}/${formatNumber(row.denominator)} summed over ${row.member_count} member(s)`;
    lines.push(`  ${month}  ${code.padEnd(24)}${figure}`);
  }
  return lines;
}

function formatNumber(n: number | null): string {
  if (n === null) return 'n/a';
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

export interface RollUpWatch {
  apiUrl: string;
  token: string;
  regionCode: string;
  signal: AbortSignal;
  /** Each report, line by line: once the province has rolled its members up, and whenever that report changes. */
  print: (line: string) => void;
  everyMs?: number;
}

/**
 * Pulls the province's roll-up over its tier API as the national platform would (bearer token, `If-None-Match` of
 * the snapshot seen last) until `signal`, printing a report whenever a new snapshot says something new. A province
 * rebuilds after each pull that brought a new city snapshot; when the figures stay the same, nothing is printed.
 */
export async function watchRollUp(o: RollUpWatch): Promise<void> {
  const headers = { authorization: `Bearer ${o.token}` };
  let etag: string | undefined;
  let lastReport = '';
  while (!o.signal.aborted) {
    try {
      const current = await fetch(new URL('api/v1/snapshots/current', o.apiUrl), {
        headers: { ...headers, ...(etag === undefined ? {} : { 'if-none-match': etag }) },
        signal: o.signal,
      });
      if (current.status === 200) {
        const snapshot = (await current.json()) as { snapshot_id: string; members: MemberStatus[] };
        const values = await fetch(
          new URL(`api/v1/aggregates?grain=month&region=${o.regionCode}&limit=10000`, o.apiUrl),
          { headers, signal: o.signal },
        );
        const page = (await values.json()) as { snapshot_id?: string; rows?: ValueRow[] };
        // A build published between the two requests: take both from the next snapshot instead.
        if (values.ok && page.snapshot_id === snapshot.snapshot_id) {
          etag = current.headers.get('etag') ?? undefined;
          const report = describeRollUp(o.regionCode, snapshot.members, page.rows ?? []);
          if (report.join('\n') !== lastReport) {
            lastReport = report.join('\n');
            for (const line of report) o.print(line);
          }
        }
      } else {
        await current.body?.cancel();
      }
    } catch {
      // Not up yet, between two snapshots, or stopping: ask again.
    }
    try {
      await sleep(o.everyMs ?? 2_000, undefined, { signal: o.signal });
    } catch {
      return;
    }
  }
}
