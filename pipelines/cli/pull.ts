/** `cityhub pull`: pulls the member hubs now, as the federation schedule does (docs/api.md, Federation). */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { UsageError } from '../errors.js';
import { pullMembers } from '../federation/members.js';

export async function commandPull(args: string[], out: (line: string) => void): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string' }, member: { type: 'string', multiple: true } },
    strict: true,
  });
  const loaded = loadConfig(values.config);
  const known = loaded.config.federation.members.map((m) => m.id);
  if (known.length === 0) throw new UsageError('this hub has no federation.members to pull');
  const unknown = (values.member ?? []).filter((id) => !known.includes(id));
  if (unknown.length > 0)
    throw new UsageError(`--member ${unknown.join(', ')}: not a member (members: ${known.join(', ')})`);
  const outcomes = await pullMembers(loaded, {
    ignoreBreaker: true,
    ...(values.member ? { only: values.member } : {}),
  });
  for (const o of outcomes) {
    if (o.status === 'pulled') out(`${o.member}: pulled snapshot ${o.snapshotId}, ${o.rows} rows`);
    else if (o.status === 'unchanged') out(`${o.member}: unchanged (snapshot ${o.snapshotId})`);
    else if (o.status === 'failed') out(`${o.member}: failed: ${o.error} (its last good values stay)`);
    else out(`${o.member}: skipped: ${o.reason}`);
  }
  return outcomes.some((o) => o.status === 'failed') ? 1 : 0;
}
