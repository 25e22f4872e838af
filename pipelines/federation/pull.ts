/**
 * Pulls a member hub's aggregates over its tier API: the snapshot first (If-None-Match: nothing new is a 304), then
 * every page of /api/v1/aggregates, each checked to come from that same snapshot (a build publishing mid-pull
 * restarts the pull, so the stored values are never a mix of two snapshots). Requests time out, and network errors,
 * 5xx and 429 are retried after exponential backoff with full jitter; 4xx other than 429 fail at once (a wrong token
 * will not become right). A member whose pulls fail `breaker_failures` times in a row is skipped for
 * `breaker_cooldown_ms` by the scheduled pulls; its last good values stay.
 */
import type { Logger } from 'pino';
import { CityhubError } from '../errors.js';
import { type MemberState, readMemberState, writeMemberState, writeMemberValues } from './store.js';

export interface FederationMember {
  id: string;
  url: string;
  token: string;
  region_code: string;
}

export interface PullSettings {
  timeout_ms: number;
  retries: number;
  breaker_failures: number;
  breaker_cooldown_ms: number;
  /** Ask only for periods ending within this many days before today (open ones always); undefined: every period. */
  recent_days?: number;
  /** Pull every period again once the last full pull is older than this. */
  full_pull_after_ms?: number;
}

export type PullOutcome =
  | { member: string; status: 'pulled'; snapshotId: string; rows: number }
  | { member: string; status: 'unchanged'; snapshotId: string }
  | { member: string; status: 'skipped'; reason: string }
  | { member: string; status: 'failed'; error: string };

/** A member answered with something a retry will not fix, or did not answer within the retries. */
export class MemberPullError extends CityhubError {
  readonly member: string;
  constructor(member: string, message: string, retriable: boolean) {
    super(`member ${member}: ${message}`, { retriable });
    this.member = member;
  }
}

const PAGE = 10_000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 30_000;
const MAX_RESTARTS = 3;

interface PullOptions {
  federationDir: string;
  settings: PullSettings;
  log?: Logger;
  /** Pull even while the breaker is open (`cityhub pull`). */
  ignoreBreaker?: boolean;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

export async function pullMember(member: FederationMember, o: PullOptions): Promise<PullOutcome> {
  const now = o.now ?? (() => new Date());
  const state = await readMemberState(o.federationDir, member);
  if (!o.ignoreBreaker && state.failures >= o.settings.breaker_failures && state.attempted_at !== null) {
    const reopensAt = Date.parse(state.attempted_at) + o.settings.breaker_cooldown_ms;
    if (now().getTime() < reopensAt) {
      return {
        member: member.id,
        status: 'skipped',
        reason: `${state.failures} failed pulls in a row: next try after ${new Date(reopensAt).toISOString()}`,
      };
    }
  }
  const attemptedAt = now().toISOString();
  try {
    const outcome = await pullOnce(member, state, o);
    const checkedAt = now().toISOString();
    const next: MemberState = {
      ...state,
      region_code: member.region_code,
      checked_at: checkedAt,
      attempted_at: attemptedAt,
      last_error: null,
      failures: 0,
    };
    if (outcome.status === 'pulled') {
      const rows = await writeMemberValues(o.federationDir, member.id, outcome.snapshotId, checkedAt, outcome.rows, {
        keepEndedBefore: outcome.since,
      });
      Object.assign(next, { snapshot_id: outcome.snapshotId, pulled_at: checkedAt, rows });
      if (outcome.since === undefined) next.full_pulled_at = checkedAt;
    }
    await writeMemberState(o.federationDir, next);
    o.log?.info(
      {
        member: member.id,
        status: outcome.status,
        snapshot: outcome.snapshotId,
        ...(outcome.status === 'pulled' ? { rows: outcome.rows.length, since: outcome.since ?? 'every period' } : {}),
      },
      'federation pull',
    );
    return outcome.status === 'pulled'
      ? { member: member.id, status: 'pulled', snapshotId: outcome.snapshotId, rows: outcome.rows.length }
      : { member: member.id, status: 'unchanged', snapshotId: outcome.snapshotId };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    await writeMemberState(o.federationDir, {
      ...state,
      region_code: member.region_code,
      attempted_at: attemptedAt,
      last_error: error,
      failures: state.failures + 1,
    });
    o.log?.warn(
      { member: member.id, error, failures: state.failures + 1 },
      'federation pull failed; last good data kept',
    );
    return { member: member.id, status: 'failed', error };
  }
}

/**
 * The first day of the periods to ask for, or undefined for every period: a first pull, a member whose last full
 * pull is older than full_pull_after_ms, or settings without recent_days pull everything.
 */
function recentSince(state: MemberState, settings: PullSettings, now: Date): string | undefined {
  if (settings.recent_days === undefined || state.snapshot_id === null || !state.full_pulled_at) return undefined;
  const fullAge = now.getTime() - Date.parse(state.full_pulled_at);
  if (!(fullAge < (settings.full_pull_after_ms ?? Number.POSITIVE_INFINITY))) return undefined;
  // Days in Asia/Shanghai, as the members' periods are.
  const today = new Date(now.getTime() + 8 * 3_600_000);
  today.setUTCDate(today.getUTCDate() - settings.recent_days);
  return today.toISOString().slice(0, 10);
}

async function pullOnce(
  member: FederationMember,
  state: MemberState,
  o: PullOptions,
): Promise<
  | { status: 'unchanged'; snapshotId: string }
  | { status: 'pulled'; snapshotId: string; rows: Record<string, unknown>[]; since: string | undefined }
> {
  let since = recentSince(state, o.settings, (o.now ?? (() => new Date()))());
  for (let restart = 0; ; restart++) {
    const current = await request(member, '/api/v1/snapshots/current', o, state.snapshot_id);
    if (current.status === 304) return { status: 'unchanged', snapshotId: state.snapshot_id! };
    const snapshotId = String((current.body as { snapshot_id: unknown }).snapshot_id);
    const rows: Record<string, unknown>[] = [];
    let torn = false;
    for (let offset = 0; ; ) {
      const filter = since === undefined ? '' : `&since=${since}`;
      let page: Awaited<ReturnType<typeof request>>;
      try {
        page = await request(member, `/api/v1/aggregates?limit=${PAGE}&offset=${offset}${filter}`, o);
      } catch (error) {
        // A member from before `since` refuses it (400 unknown parameter): pull everything from it instead.
        if (since === undefined || !(error instanceof MemberPullError) || !/ 400 .*since/.test(error.message))
          throw error;
        since = undefined;
        rows.length = 0;
        offset = 0;
        continue;
      }
      if (page.etag !== `"${snapshotId}"`) {
        torn = true;
        break;
      }
      const body = page.body as { rows: Record<string, unknown>[]; next_offset: number | null };
      rows.push(...body.rows);
      if (body.next_offset === null) break;
      offset = body.next_offset;
    }
    if (!torn) return { status: 'pulled', snapshotId, rows, since };
    if (restart + 1 >= MAX_RESTARTS) {
      throw new MemberPullError(member.id, `its snapshot changed during ${MAX_RESTARTS} pulls in a row`, true);
    }
  }
}

async function request(
  member: FederationMember,
  path: string,
  o: PullOptions,
  ifNoneMatch?: string | null,
): Promise<{ status: number; etag: string | null; body: unknown }> {
  const sleep = o.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  const url = new URL(path.replace(/^\//, ''), member.url.endsWith('/') ? member.url : `${member.url}/`);
  for (let attempt = 0; ; attempt++) {
    let retryAfterMs: number | undefined;
    try {
      const headers: Record<string, string> = { authorization: `Bearer ${member.token}`, accept: 'application/json' };
      if (ifNoneMatch) headers['if-none-match'] = `"${ifNoneMatch}"`;
      const response = await fetch(url, { headers, signal: AbortSignal.timeout(o.settings.timeout_ms) });
      if (response.status === 304) return { status: 304, etag: response.headers.get('etag'), body: null };
      if (response.ok) {
        return { status: response.status, etag: response.headers.get('etag'), body: await response.json() };
      }
      const reason = await response.text().then(
        (t) => (JSON.parse(t) as { reason?: string }).reason ?? t,
        () => '',
      );
      const retriable = response.status >= 500 || response.status === 429;
      if (response.status === 429) retryAfterMs = Number(response.headers.get('retry-after') ?? '1') * 1000;
      const error = new MemberPullError(
        member.id,
        `GET ${url.pathname} answered ${response.status} ${reason}`.trim(),
        retriable,
      );
      if (!retriable || attempt >= o.settings.retries) throw error;
      o.log?.debug({ member: member.id, attempt, status: response.status }, 'federation request failed; retrying');
    } catch (err) {
      if (err instanceof MemberPullError && (!err.retriable || attempt >= o.settings.retries)) throw err;
      if (!(err instanceof MemberPullError)) {
        const why = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
        if (attempt >= o.settings.retries) {
          throw new MemberPullError(member.id, `GET ${url.pathname} failed: ${why}`, true);
        }
      }
    }
    // Full jitter: members recovering from an outage are not hit by every upper tier at the same instant.
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
    await sleep(Math.max(retryAfterMs ?? 0, Math.random() * ceiling));
  }
}
