/** How fresh each member hub's pulled values are, from its `state.json` (pipelines/federation/store.ts). */
import { readMemberState } from '../federation/store.js';
import type { MemberHealth } from './hub-status.js';

export async function memberHealth(
  federationDir: string,
  members: readonly { id: string; region_code: string }[],
  staleAfterMs: number,
  now: number,
): Promise<MemberHealth[]> {
  // Stale as the tier API's snapshot says it (pipelines/api/app.ts snapshotMeta).
  return Promise.all(
    members.map(async (member) => {
      const state = await readMemberState(federationDir, member);
      const ageS = state.checked_at === null ? null : Math.max(0, (now - Date.parse(state.checked_at)) / 1000);
      return {
        member_id: member.id,
        region_code: member.region_code,
        checked_at: state.checked_at,
        age_s: ageS === null ? null : Math.round(ageS),
        stale: state.last_error !== null || ageS === null || ageS * 1000 > staleAfterMs,
        last_error: state.last_error,
        failures: state.failures,
      };
    }),
  );
}
