/** A hub's federation as config gives it: the members to pull and how their values reach the models build. */
import type { Logger } from 'pino';
import type { LoadedConfig } from '../config/load.js';
import type { MemberSeedsOptions } from '../models/member-seeds.js';
import { type PullOutcome, pullMember } from './pull.js';

/** The runModels `federation` option of a hub with members; undefined for one without. */
export function memberSeedsOf(loaded: LoadedConfig): MemberSeedsOptions | undefined {
  const { members, stale_after_ms } = loaded.config.federation;
  if (members.length === 0) return undefined;
  return { dir: loaded.paths.federationDir, members, staleAfterMs: stale_after_ms };
}

/** Pulls every member (or those named) at once; one member failing does not stop the others. */
export async function pullMembers(
  loaded: LoadedConfig,
  o: { only?: readonly string[]; ignoreBreaker?: boolean; log?: Logger } = {},
): Promise<PullOutcome[]> {
  const { federation } = loaded.config;
  const members = federation.members.filter((m) => o.only === undefined || o.only.includes(m.id));
  return Promise.all(
    members.map((member) =>
      pullMember(member, {
        federationDir: loaded.paths.federationDir,
        settings: federation,
        ...(o.log === undefined ? {} : { log: o.log }),
        ...(o.ignoreBreaker === undefined ? {} : { ignoreBreaker: o.ignoreBreaker }),
      }),
    ),
  );
}
