/**
 * The metric families of a hub process (docs/operations.md lists each): read from one Observed reading, plus what
 * was recorded as it happened (flush durations, marts builds, API requests). A family whose source this process
 * does not run (the lander in a connectors process) is left out rather than shown as zeros.
 */
import { type Feed, feeds } from '../../connectors/types.js';
import type { MetricFamily, Sample, ScalarFamily } from './exposition.js';
import type { HubStatus } from './hub-status.js';
import type { Histogram, LabeledCounter } from './instruments.js';
import type { MartsBuildTracker } from './marts-builds.js';
import type { Observed } from './observed.js';

export interface Recorded {
  flushDurations: Histogram;
  /** In a process serving the tier API. */
  apiRequests?: LabeledCounter<readonly ['route', 'status']>;
  /** In a process running the models role. */
  marts?: MartsBuildTracker;
}

export interface ProcessInfo {
  role: HubStatus['role'];
  regionCode: string;
  startedAt: number;
}

const connectorStates = ['starting', 'running', 'stopping', 'stopped', 'failed'] as const;
const pipelineStates = ['starting', 'running', 'backing_off', 'stopped'] as const;

function counter(name: string, help: string, samples: Sample[]): ScalarFamily {
  return { name, help, type: 'counter', samples };
}

function gauge(name: string, help: string, samples: Sample[]): ScalarFamily {
  return { name, help, type: 'gauge', samples };
}

function seconds(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}

/** Per connector and feed, one sample of each feed it counted. */
function perConnectorFeed(
  connectors: Observed['connectors'],
  pick: (health: Observed['connectors'][number]['health']) => Partial<Record<Feed, number>> | undefined,
): Sample[] {
  return connectors.flatMap(({ id, health }) =>
    Object.entries(pick(health) ?? {}).map(([feed, value]) => ({ labels: { connector: id, feed }, value: value ?? 0 })),
  );
}

export function hubMetricFamilies(observed: Observed, info: ProcessInfo, recorded: Recorded): MetricFamily[] {
  const families: MetricFamily[] = [
    gauge('cityhub_info', 'The hub process: its role and region (always 1).', [
      { labels: { role: info.role, region_code: info.regionCode }, value: 1 },
    ]),
    gauge('cityhub_start_time_seconds', 'When this hub process started (Unix time).', [
      { value: info.startedAt / 1000 },
    ]),
  ];
  const { connectors, landing } = observed;
  if (connectors.length > 0) {
    families.push(
      counter(
        'cityhub_connector_messages_appended_total',
        'Messages each connector appended to the bus (acknowledged), per feed; connector dead letters included.',
        perConnectorFeed(connectors, (h) => h.sent),
      ),
      counter(
        'cityhub_connector_bytes_appended_total',
        'Bytes of the message bodies each connector appended to the bus, per feed.',
        perConnectorFeed(connectors, (h) => h.bytes_sent),
      ),
      counter(
        'cityhub_connector_dead_lettered_total',
        'Of the appended messages, those the connector itself dead-lettered on dlq.<feed> (too large, unreadable).',
        perConnectorFeed(connectors, (h) => h.dead_lettered),
      ),
      counter(
        'cityhub_connector_send_retries_total',
        'Bus sends each connector retried (a full disk, a lost peer).',
        connectors.map(({ id, health }) => ({ labels: { connector: id }, value: health.retries ?? 0 })),
      ),
      gauge(
        'cityhub_connector_state',
        "1 for each connector's current state, 0 for the others (starting, running, stopping, stopped, failed).",
        connectors.flatMap(({ id, kind, health }) =>
          connectorStates.map((state) => ({
            labels: { connector: id, kind, state },
            value: health.state === state ? 1 : 0,
          })),
        ),
      ),
      gauge(
        'cityhub_connector_last_error_timestamp_seconds',
        "When each connector's last failure happened (Unix time); absent for one that never failed.",
        connectors.flatMap(({ id, health }) => {
          const at = seconds(health.last_error_at);
          return at === undefined ? [] : [{ labels: { connector: id }, value: at }];
        }),
      ),
    );
  }
  if (landing) {
    const { stats, reasons, worker } = landing;
    const perFeed = (pick: 'received' | 'landed') =>
      feeds.map((feed) => ({ labels: { feed }, value: stats.feeds[feed]?.[pick] ?? 0 }));
    families.push(
      counter(
        'cityhub_records_received_total',
        'Source records the pipeline read from the bus and counted once their flush was committed, per feed (received = landed + dead-lettered).',
        perFeed('received'),
      ),
      counter('cityhub_records_landed_total', 'Records landed in the lake, per feed.', perFeed('landed')),
      counter(
        'cityhub_records_dead_lettered_total',
        'Records dead-lettered (under _dlq/<feed> in the lake), per feed and reason_code; summed over reason, per feed: received - landed.',
        [...reasons].flatMap(([feed, byReason]) =>
          [...byReason].map(([reason, value]) => ({ labels: { feed, reason }, value })),
        ),
      ),
      counter(
        'cityhub_dataset_rows_landed_total',
        'Rows landed per canonical dataset (a dept delivery lands a dept_delivery row beside its dept_record rows).',
        Object.entries(stats.rows).map(([dataset, value]) => ({ labels: { dataset }, value: value ?? 0 })),
      ),
      counter('cityhub_lake_files_written_total', 'Parquet files the pipeline put in the lake.', [
        { value: stats.files },
      ]),
      counter('cityhub_lake_flushes_total', 'Committed flushes (lake files durable, then bus offsets committed).', [
        { value: stats.flushes },
      ]),
      recorded.flushDurations.family(),
      gauge(
        'cityhub_pipeline_state',
        '1 for the pipeline worker’s current state, 0 for the others (backing_off: landing fails and is retried).',
        pipelineStates.map((state) => ({ labels: { state }, value: worker.state === state ? 1 : 0 })),
      ),
      gauge('cityhub_pipeline_consecutive_failures', 'Failed flushes in a row (0 once a flush succeeds).', [
        { value: worker.failures },
      ]),
      gauge(
        'cityhub_pipeline_last_flush_timestamp_seconds',
        'When the last flush was committed (Unix time); absent before the first.',
        seconds(worker.last_flush_at) === undefined ? [] : [{ value: seconds(worker.last_flush_at)! }],
      ),
      gauge(
        'cityhub_bus_lag_messages',
        'Messages on the bus not yet landed and committed, per partition this process lands (end offset - committed offset).',
        observed.lag.map(({ topic, partition, lag }) => ({
          labels: { topic, partition: String(partition) },
          value: lag,
        })),
      ),
    );
  }
  if (recorded.marts) families.push(...recorded.marts.families());
  if (recorded.apiRequests) families.push(recorded.apiRequests.family());
  if (observed.members.length > 0) {
    families.push(
      gauge(
        'cityhub_federation_member_age_seconds',
        'Seconds since each member hub last answered a pull; absent for one that never answered.',
        observed.members.flatMap((m) =>
          m.age_s === null ? [] : [{ labels: { member: m.member_id }, value: m.age_s }],
        ),
      ),
      gauge(
        'cityhub_federation_member_stale',
        '1 when a member hub is stale: its last pull failed, it never answered, or not for federation.stale_after_ms.',
        observed.members.map((m) => ({ labels: { member: m.member_id }, value: m.stale ? 1 : 0 })),
      ),
      gauge(
        'cityhub_federation_member_consecutive_failures',
        'Failed pulls of each member hub in a row.',
        observed.members.map((m) => ({ labels: { member: m.member_id }, value: m.failures })),
      ),
    );
  }
  return families;
}
