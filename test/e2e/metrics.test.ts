/**
 * `/metrics` and `cityhub status` of a real hub process (issue 11 item 4): records posted to its http-ingest listener,
 * some of them bad in four different ways, are scraped back from /metrics and must agree with the run summary the
 * process prints when it stops — per feed received = landed + dead-lettered, dead letters by reason summing up.
 */

import { access } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../support/cli-in-process.js';
import { freePorts, startCli, summaryCounts, tempDir, writeConfig } from '../support/hub-process.js';
import { type ParsedFamily, parsePrometheusText, sampleValue } from '../support/prometheus-text.js';

let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
afterEach(async () => {
  await dir?.remove();
  dir = undefined;
});

const reading = (dev: string, over: Record<string, unknown> = {}) =>
  JSON.stringify({
    dev,
    kind: 'gas_methane',
    metric: 'methane',
    val: 0.8,
    unit: '%LEL',
    ts: '2026-08-01 08:00:00',
    adcode: '330106',
    ...over,
  });

/** Two pushes: 6 good readings; 3 invalid values, 2 unknown units, 1 repeat of a landed reading, 1 line not JSON. */
const pushes = [
  [
    ...[1, 2, 3, 4].map((i) => reading(`GAS-330106-000${i}`)),
    reading('GAS-330106-0101', { val: 'high' }),
    reading('GAS-330106-0102', { val: 'high' }),
    reading('GAS-330106-0103', { unit: 'furlong' }),
    'not json at all',
  ],
  [
    reading('GAS-330106-0005'),
    reading('GAS-330106-0006'),
    reading('GAS-330106-0104', { val: 'high' }),
    reading('GAS-330106-0105', { unit: 'furlong' }),
    reading('GAS-330106-0001'),
  ],
];
const sent = pushes.flat().length;
const expectedReasons = { invalid: 3, unmapped_code: 2, duplicate: 1, not_json: 1 };

/** Polls `probe` until it gives a value (the condition holds), for at most `timeoutMs`. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function deadLettersByReason(metrics: Map<string, ParsedFamily>, feed: string): Record<string, number> {
  const byReason: Record<string, number> = {};
  for (const s of metrics.get('cityhub_records_dead_lettered_total')?.samples ?? [])
    if (s.labels.feed === feed) byReason[s.labels.reason!] = s.value;
  return byReason;
}

const sum = (values: Record<string, number>) => Object.values(values).reduce((a, b) => a + b, 0);

describe('/metrics and cityhub status', () => {
  it('agree with the run summary while the hub runs, and status says not running once it stopped', async () => {
    dir = await tempDir('metrics');
    const [metricsPort, ingestPort] = await freePorts(2);
    const config = await writeConfig(dir.path, {
      region_code: '330000',
      tier: 'city',
      data_dir: 'data',
      privacy: { salt: 'metrics-test-salt-0123' },
      connectors: [
        {
          id: 'push',
          kind: 'http-ingest',
          listen: { host: '127.0.0.1', port: ingestPort },
          sources: [{ id: 'gauges', kind: 'sensor-bulk', path: '/push/sensors' }],
        },
      ],
      catalogs: { data_resources: 'none', scenarios: 'none', devices: 'none' },
      landing: { max_age_ms: 200 },
      models: { schedule: '0 0 1 1 *' },
      metrics: { listen: `127.0.0.1:${metricsPort}` },
    });
    const hub = startCli(['run', '--config', config, '--for', '10m']);
    await hub.waitFor(/"msg":"hub running"/);
    const metricsUrl = `http://127.0.0.1:${metricsPort}`;

    for (const lines of pushes) {
      const answer = await fetch(`http://127.0.0.1:${ingestPort}/push/sensors`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body: lines.join('\n'),
      });
      expect(answer.status, await answer.clone().text()).toBe(202);
    }

    // Everything sent is counted once its flush is committed, and the first marts build has run.
    const scrape = async () => {
      const response = await fetch(`${metricsUrl}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      return parsePrometheusText(await response.text());
    };
    const metrics = await until('every record counted and a marts build', async () => {
      const m = await scrape();
      const received = sampleValue(m, 'cityhub_records_received_total', { feed: 'sensor' });
      const built = sampleValue(m, 'cityhub_marts_builds_total', { status: 'ok' }) ?? 0;
      return received === sent && built >= 1 ? m : undefined;
    });
    const received = sampleValue(metrics, 'cityhub_records_received_total', { feed: 'sensor' })!;
    const landed = sampleValue(metrics, 'cityhub_records_landed_total', { feed: 'sensor' })!;
    const byReason = deadLettersByReason(metrics, 'sensor');
    expect(byReason).toEqual(expectedReasons);
    expect(received).toBe(landed + sum(byReason));
    expect(landed).toBe(6);
    expect(
      sampleValue(metrics, 'cityhub_connector_messages_appended_total', { connector: 'push', feed: 'sensor' }),
    ).toBe(sent);
    expect(
      sampleValue(metrics, 'cityhub_connector_state', { connector: 'push', kind: 'http-ingest', state: 'running' }),
    ).toBe(1);
    expect(metrics.get('cityhub_flush_duration_seconds')?.type).toBe('histogram');
    const flushes = sampleValue(
      metrics,
      'cityhub_flush_duration_seconds',
      { le: '+Inf' },
      'cityhub_flush_duration_seconds_bucket',
    )!;
    expect(flushes).toBeGreaterThanOrEqual(1);
    expect(sampleValue(metrics, 'cityhub_flush_duration_seconds', {}, 'cityhub_flush_duration_seconds_count')).toBe(
      flushes,
    );
    expect(sampleValue(metrics, 'cityhub_lake_flushes_total')).toBe(flushes);
    expect(sampleValue(metrics, 'cityhub_marts_last_build_success')).toBe(1);
    const lag = metrics.get('cityhub_bus_lag_messages')!.samples;
    expect(lag.find((s) => s.labels.topic === 'raw.sensor')).toBeDefined();
    expect(lag.every((s) => s.value === 0)).toBe(true);

    // The same status on the operations listener (no token) and from `cityhub status`, once its file caught up.
    const live = (await (await fetch(`${metricsUrl}/api/v1/status`)).json()) as {
      state: string;
      feeds: Record<string, unknown>;
    };
    expect(live.state).toBe('running');
    expect(live.feeds.sensor).toEqual({ received, landed, dead_lettered: sum(byReason) });
    interface Report {
      running: boolean;
      problems: string[];
      processes: {
        running: boolean;
        status: {
          connectors: { id: string; kind: string; state: string; appended: Record<string, number> }[];
          feeds: Record<string, { received: number; landed: number; dead_lettered: number }>;
        };
      }[];
      dead_letters_last_hour: { feed: string; reason: string; records: number }[];
      marts: { models: number } | null;
    }
    const report = await until('the status file to show every record', async () => {
      const result = await runCliInProcess(['status', '--config', config, '--format', 'json']);
      expect(result.code, result.stderr).toBe(0);
      const parsed = JSON.parse(result.stdout) as Report;
      return parsed.processes[0]?.status.feeds.sensor?.received === sent ? parsed : undefined;
    });
    expect(report.running).toBe(true);
    expect(report.problems).toEqual([]);
    expect(report.processes).toHaveLength(1);
    expect(report.processes[0]!.status.connectors).toEqual([
      expect.objectContaining({ id: 'push', kind: 'http-ingest', state: 'running', appended: { sensor: sent } }),
    ]);
    expect(report.processes[0]!.status.feeds.sensor).toEqual({ received, landed, dead_lettered: sum(byReason) });
    // The lake's dead letters of the last hour: what the metrics counted, reason by reason.
    expect(
      Object.fromEntries(
        report.dead_letters_last_hour.filter((d) => d.feed === 'sensor').map((d) => [d.reason, d.records]),
      ),
    ).toEqual(expectedReasons);
    expect(report.marts?.models).toBeGreaterThan(0);

    hub.child.kill('SIGTERM');
    expect(await hub.exited, hub.stderr().slice(-4000)).toBe(0);
    // The run summary: the same counts as the scrape.
    const summary = summaryCounts(hub.stdout(), 'sensor');
    expect(summary).toEqual({ sent, received, landed, dead_lettered: sum(byReason) });
    // The listener closed with the process.
    await expect(fetch(`${metricsUrl}/metrics`)).rejects.toThrow();

    const after = await runCliInProcess(['status', '--config', config]);
    expect(after.code).toBe(1);
    expect(after.stdout).toMatch(/^NOT RUNNING: role all, region 330000, pid \d+ .* — it stopped at /m);
    expect(after.stdout).toMatch(/push \(http-ingest\) stopped: appended sensor 13/);
  });

  it('a metrics port in use stops the run before anything is opened, naming the address', async () => {
    dir = await tempDir('metrics-port');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    try {
      const config = await writeConfig(dir.path, {
        region_code: '330000',
        data_dir: 'data',
        privacy: { salt: 'metrics-test-salt-0123' },
        connectors: [{ id: 'replay', kind: 'raw-files', path: 'inbox', feed: 'sensor', once: true }],
        catalogs: { data_resources: 'none', scenarios: 'none', devices: 'none' },
        metrics: { listen: `127.0.0.1:${port}` },
      });
      const run = await runCliInProcess(['run', '--config', config, '--for', '1s']);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`cityhub run: metrics.listen 127.0.0.1:${port}: could not listen`);
      expect(run.stderr).toContain('EADDRINUSE');
      // Nothing was opened or written: no bus, no status file.
      await expect(access(join(dir.path, 'data'))).rejects.toThrow();
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
