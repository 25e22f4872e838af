/**
 * http-ingest against the conformance suite. A push source has no cursor at its peer: the sender holds what it has not
 * had accepted, and re-sends it until the hub answers 202 — so the harness's peer is a retrying sender (as vendor SDKs
 * behave) POSTing over a real socket, and "acknowledged" is the 202 for the request that carried the record. The
 * listener keeps one port across the suite's restarts (a port chosen once per test), as a configured hub does.
 */
import { httpIngestConnectorConfig } from '../../connectors/http-ingest/config.js';
import { HttpIngestConnector } from '../../connectors/http-ingest/connector.js';
import {
  type PushRequest,
  RetryingPushSender,
  signedHeaders,
  TEST_SECRET,
} from '../../connectors/http-ingest/testing.js';
import type { BusMessage } from '../../pipelines/bus/types.js';
import type { RetryPolicy } from '../../pipelines/retry.js';
import { type ConformanceHarness, describeConnectorConformance } from '../support/connector-conformance.js';
import { freePorts } from '../support/hub-process.js';

/** The sender's backoff: short, so a restarted hub is reached soon, never a hot loop. */
const senderPolicy: RetryPolicy = { initialMs: 10, maxMs: 100, factor: 2, maxAttempts: Infinity };

type Kind = 'sensor-bulk' | 'video-webhook';

/** The pushes that carry `ids`: one NDJSON request for a bulk source, one signed request per alert for a webhook. */
function pushesOf(kind: Kind, ids: readonly string[]): { request: PushRequest; ids: readonly string[] }[] {
  if (kind === 'sensor-bulk') {
    const body = ids
      .map((id) => JSON.stringify({ id, dev: 'WL-330106-01', metric: 'water_level', v: 1.25 }))
      .join('\n');
    const request = { path: '/push/sensors', body, headers: () => ({ 'content-type': 'application/x-ndjson' }) };
    return [{ request, ids }];
  }
  return ids.map((id) => {
    const body = JSON.stringify({ id, camera: 'CAM-330106-7', class: '0101', score: 0.9 });
    // Signed afresh at each attempt, as a vendor's client does: a re-send is a new request, not a replay.
    return { request: { path: '/hooks/acme', body, headers: () => signedHeaders(body) }, ids: [id] };
  });
}

function harnessFor(kind: Kind): () => Promise<ConformanceHarness> {
  return async () => {
    const [port] = await freePorts(1);
    const sender = new RetryingPushSender(`http://127.0.0.1:${port}`, senderPolicy);
    const accepted = new Set<string>();
    let next = 0;
    const feed = kind === 'sensor-bulk' ? 'sensor' : 'video';
    return {
      topics: [`raw.${feed}`, `dlq.${feed}`],
      async offer(count) {
        const ids = Array.from({ length: count }, () => `${feed}-${String(next++).padStart(4, '0')}`);
        for (const push of pushesOf(kind, ids)) {
          // Queued at the sender (offered); acknowledged once a 202 answers the request that carries them.
          void sender.push(push.request).then((status) => {
            if (status === 202) for (const id of push.ids) accepted.add(id);
          });
        }
        return ids;
      },
      identify: (message: BusMessage) => (JSON.parse(message.value.toString('utf8')) as { id?: string }).id,
      connector: () =>
        new HttpIngestConnector(
          httpIngestConnectorConfig.parse({
            id: 'conformance',
            kind: 'http-ingest',
            listen: { host: '127.0.0.1', port },
            sources: [
              kind === 'sensor-bulk'
                ? { id: 'river-sensors', kind, path: '/push/sensors' }
                : { id: 'acme-alerts', kind, path: '/hooks/acme', signature: { keys: { k1: TEST_SECRET } } },
            ],
          }),
        ),
      acknowledged: async (id) => accepted.has(id),
      close: () => sender.close(),
    };
  };
}

describeConnectorConformance('http-ingest sensor-bulk', harnessFor('sensor-bulk'));
describeConnectorConformance('http-ingest video-webhook', harnessFor('video-webhook'));
