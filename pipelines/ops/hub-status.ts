/**
 * What a running hub process says about itself: written to `<data_dir>/status.json` every few seconds (status-file.ts),
 * served at `GET /api/v1/status`, read by `cityhub status`. One schema for all three, so the file a hub wrote is
 * checked by the command that reads it.
 */
import { z } from 'zod';

export const roleNames = ['all', 'connectors', 'pipeline', 'models', 'api'] as const;

const counts = z.record(z.string(), z.number()).describe('per feed');

export const martsBuildSchema = z.object({
  at: z.string().describe('when the build ended (ISO 8601)'),
  duration_ms: z.number(),
  status: z.enum(['ok', 'failed']),
  error: z.string().nullable().describe('why it failed (first line); null when it published'),
});
export type MartsBuildRecord = z.infer<typeof martsBuildSchema>;

export const memberHealthSchema = z.object({
  member_id: z.string(),
  region_code: z.string(),
  checked_at: z.string().nullable().describe('the last time the member answered a pull'),
  age_s: z.number().nullable().describe('seconds since then'),
  stale: z.boolean().describe('its last pull failed, it never answered, or not for federation.stale_after_ms'),
  last_error: z.string().nullable(),
  failures: z.number().describe('failed pulls in a row'),
});
export type MemberHealth = z.infer<typeof memberHealthSchema>;

const reasonCount = z.object({ feed: z.string(), reason: z.string(), records: z.number() });

export const hubStatusSchema = z.object({
  written_at: z.string().describe('when this status was taken (ISO 8601)'),
  state: z
    .enum(['starting', 'running', 'stopping', 'stopped'])
    .describe('the hub process: starting (before its roles run), running, stopping (draining), stopped'),
  role: z.enum(roleNames),
  region_code: z.string(),
  started_at: z.string(),
  process: z
    .object({
      pid: z.number().int(),
      host: z.string(),
      /** Linux: the process's start time (clock ticks after boot) and the boot id, to tell a reused pid. */
      started: z.string().optional(),
      boot_id: z.string().optional(),
    })
    .describe('the process that wrote it'),
  connectors: z.array(
    z.object({
      id: z.string(),
      kind: z.string(),
      state: z.enum(['starting', 'running', 'stopping', 'stopped', 'failed']),
      error: z.string().nullable().describe('what is wrong now (retried) or why it failed'),
      last_error_at: z.string().nullable(),
      last_success_at: z.string().nullable().describe('when the bus last acknowledged one of its sends'),
      appended: counts.describe('messages the bus acknowledged, per feed'),
      bytes_appended: counts,
      dead_lettered: counts.describe('of appended, what the connector dead-lettered itself'),
      retries: z.number(),
    }),
  ),
  pipeline: z
    .object({
      state: z.enum(['starting', 'running', 'backing_off', 'stopped']),
      failures: z.number().describe('failed flushes in a row'),
      last_error: z.string().nullable(),
      last_error_at: z.string().nullable(),
      last_flush_at: z.string().nullable(),
      flushes: z.number(),
      files: z.number(),
    })
    .nullable()
    .describe('null in a process without the pipeline role'),
  feeds: z.record(z.string(), z.object({ received: z.number(), landed: z.number(), dead_lettered: z.number() })),
  dead_letters: z.object({
    by_reason: z.array(reasonCount).describe('since the process started, per feed and reason_code'),
    last_hour: z.array(reasonCount).describe('of those, the last 60 to 61 minutes (sampled each minute)'),
  }),
  bus_lag: z.array(
    z.object({
      topic: z.string(),
      partition: z.number(),
      high_watermark: z.number(),
      committed: z.number(),
      lag: z.number(),
    }),
  ),
  marts: z
    .object({ last_build: martsBuildSchema.nullable(), builds_ok: z.number(), builds_failed: z.number() })
    .nullable()
    .describe('null in a process without the models role'),
  federation: z.array(memberHealthSchema),
  problems: z.array(z.string()).describe('what failed: cityhub status exits 1 when not empty'),
});
export type HubStatus = z.infer<typeof hubStatusSchema>;

/** What in a status counts as failed: a connector that failed, landing that keeps failing, a failed marts build. */
export function problemsOf(status: Omit<HubStatus, 'problems'>): string[] {
  const problems: string[] = [];
  for (const c of status.connectors)
    if (c.state === 'failed') problems.push(`connector ${c.id} failed: ${c.error ?? 'unknown error'}`);
  if (status.pipeline?.state === 'backing_off')
    problems.push(
      `landing failed ${status.pipeline.failures} time(s) in a row: ${status.pipeline.last_error ?? 'unknown error'}`,
    );
  const build = status.marts?.last_build;
  if (build?.status === 'failed') problems.push(`the last marts build failed: ${build.error ?? 'unknown error'}`);
  return problems;
}
