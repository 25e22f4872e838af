/**
 * The roles as separate processes over Kafka (issue 9): a connectors process and two pipeline processes in one
 * consumer group, talking to the Kafka-protocol test broker, landing into an S3 bucket (s3rver). The second pipeline
 * process joins while the first lands (a live rebalance); then the first is killed in the middle of a flush (its journal in the bucket, its offsets not committed); the other takes
 * its partitions over, removes what the dead one left uncommitted and lands it again. Every message the bus
 * acknowledged is then in the bucket exactly once (DuckDB over the downloaded Parquet: bus coordinates and natural
 * keys unique, every acknowledged offset accounted for).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type S3rverPeer, s3rverLake, startS3rver } from '../../connectors/dept-files/s3rver-peer.js';
import { feeds, rawTopic } from '../../connectors/types.js';
import { KafkaBus } from '../../pipelines/bus/kafka/index.js';
import { S3LakeStore } from '../../pipelines/land/s3-store.js';
import { deadLetterTopic } from '../../pipelines/normalize/connector-dead-letter.js';
import { type HubProcess, startCli, tempDir, writeConfig } from '../support/hub-process.js';
import { GroupCoordinator, groupHandlers } from '../support/kafka/group/index.js';
import { KafkaTestBroker } from '../support/kafka/server.js';
import { type LakeCounts, lakeCounts, noNaturalKeyRepeats } from '../support/lake-exactly-once.js';

const BUCKET = 'city-lake';
const PARTITIONS = 4;
const TOPICS = feeds.flatMap((feed) => [rawTopic(feed), deadLetterTopic(feed)]);

/** Resolves `work`, or fails with the processes' output when it does not come within two minutes. */
async function step<T>(what: string, work: Promise<T>, ...hubs: HubProcess[]): Promise<T> {
  if (process.env.CITYHUB_TEST_TRACE) console.log(`${new Date().toISOString()} waiting for ${what}`);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const output = hubs.map((h) => `${h.stdout()}\n${h.stderr()}`).join('\n-----\n');
      reject(new Error(`no ${what} within 120 s\n${output}`));
    }, 120_000);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('roles as separate processes over Kafka, the lake in S3, one pipeline process killed mid-flush', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let coordinator: GroupCoordinator;
  let broker: KafkaTestBroker;
  let s3: S3rverPeer;
  let store: S3LakeStore;
  let acknowledged = 0;
  let exits: { connectors: number | string; survivor: number | string; killed: number | string };
  let caughtJournal = '';
  let journalsLeft: string[] = [];
  let counts: LakeCounts;
  const local = () => join(dir.path, 'bucket');

  beforeAll(async () => {
    dir = await tempDir('kafka-roles');
    coordinator = new GroupCoordinator({ minSessionTimeoutMs: 1000 });
    let started: KafkaTestBroker | undefined;
    const node = { nodeId: 0, host: '127.0.0.1', port: () => started?.port ?? 0 };
    started = await KafkaTestBroker.start({ extraHandlers: groupHandlers(coordinator, node), log: () => {} });
    broker = started;
    s3 = await startS3rver([BUCKET]);
    const lake = s3rverLake(s3.endpoint, BUCKET, 'lake');
    store = new S3LakeStore({ config: lake, cacheDir: join(dir.path, 'reader') });
    // One config for every process, as in docker-compose: each process gets its own data dir from the environment.
    const config = await writeConfig(dir.path, {
      region_code: '330000',
      data_dir: '${CITYHUB_DATA_DIR}',
      privacy: { salt: 'kafka-roles-test-salt' },
      bus: {
        type: 'kafka',
        brokers: broker.address,
        session_timeout_ms: 6_000,
        heartbeat_interval_ms: 500,
        fetch_max_wait_ms: 100,
      },
      topics: { partitions: PARTITIONS },
      lake: { ...lake, access_key_id: '${CITYHUB_S3_KEY}', secret_access_key: '${CITYHUB_S3_SECRET}' },
      connectors: [
        {
          id: 'demo',
          kind: 'demo',
          seed: 77,
          start_month: '2026-04',
          months: 3,
          scale: 0.3,
          live: false,
          batch_size: 500,
        },
      ],
      // Small flushes: one of them is caught half-done.
      landing: { max_rows: 500, max_age_ms: 60_000 },
      log: { level: 'info' },
    });
    const env = (name: string) => ({
      env: { CITYHUB_DATA_DIR: join(dir.path, name), CITYHUB_S3_KEY: 'S3RVER', CITYHUB_S3_SECRET: 'S3RVER' },
    });
    const run = (role: string, name: string) => startCli(['run', '--config', config, '--role', role], env(name));

    // The pipelines start first: they wait for the catalogs the demo connector provides through the bucket.
    // Pipeline A starts first and waits for the catalogs the demo connector provides through the bucket.
    const doomed = run('pipeline', 'pipeline-a');
    await step('waiting pipeline A', doomed.waitFor(/waiting for the process/), doomed);
    const connectors = run('connectors', 'connectors');
    await step('running pipeline A', doomed.waitFor(/hub running/), doomed, connectors);
    const member = (await readFile(join(dir.path, 'pipeline-a', 'pipeline-member'), 'utf8')).trim();
    const journalOfA = async () => (await store.listWork('_journal')).find((key) => key.includes(`/${member}.json`));
    const flushOfA = (what: string, ...hubs: HubProcess[]) =>
      step(
        what,
        (async () => {
          for (;;) {
            const journal = await journalOfA();
            if (journal) return journal;
            if (doomed.child.exitCode !== null) throw new Error('pipeline A exited');
          }
        })(),
        ...hubs,
      );
    // Pipeline B joins while A lands: A hands half its partitions over in the middle of its work.
    await flushOfA('a flush of pipeline A', doomed, connectors);
    const survivor = run('pipeline', 'pipeline-b');
    const all = [doomed, survivor, connectors];
    await step('pipeline B running', survivor.waitFor(/hub running/), ...all);
    await step(
      'pipeline A giving partitions up',
      doomed.waitFor(
        new RegExp(`"partitions":(?!${TOPICS.length * PARTITIONS}\\b)\\d+,.*landing the partitions this member owns`),
      ),
      ...all,
    );

    // Kill pipeline A while its flush journal is in the bucket: files (maybe) in place, offsets not committed.
    caughtJournal = await flushOfA('flush of pipeline A caught half-done', ...all);
    doomed.child.kill('SIGKILL');
    const reassigned = new RegExp(
      `"partitions":${TOPICS.length * PARTITIONS}\\b.*landing the partitions this member owns`,
    );
    const before = survivor
      .stderr()
      .split('\n')
      .filter((line) => reassigned.test(line)).length;

    await step('demo history', connectors.waitFor(/demo history sent/), ...all);
    connectors.child.kill('SIGTERM');
    // B owns every partition once the group has noticed A is gone (its session timeout).
    await step(
      'takeover by pipeline B',
      (async () => {
        while (
          survivor
            .stderr()
            .split('\n')
            .filter((line) => reassigned.test(line)).length <= before
        ) {
          if (survivor.child.exitCode !== null) throw new Error('pipeline B exited');
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })(),
      ...all,
    );
    survivor.child.kill('SIGTERM');
    exits = {
      killed: await doomed.exited,
      connectors: await step('connectors exit', connectors.exited, ...all),
      survivor: await step('pipeline B exit', survivor.exited, ...all),
    };

    journalsLeft = await store.listWork('_journal');
    const bus = await KafkaBus.open({ brokers: [broker.address] });
    try {
      for (const topic of TOPICS)
        for (const { highWatermark } of await bus.describe(topic)) acknowledged += highWatermark;
    } finally {
      await bus.close();
    }
    for await (const object of store.objects()) {
      const target = join(local(), object.relPath);
      await mkdir(dirname(target), { recursive: true });
      await store.download(object.relPath, target);
    }
    counts = await lakeCounts(local());
  }, 540_000);
  afterAll(async () => {
    store?.client.destroy();
    await s3?.close();
    coordinator?.close();
    await broker?.close();
    await dir?.remove();
  });

  it('pipeline A was killed mid-flush; the connectors process and pipeline B exited cleanly', () => {
    expect(caughtJournal).toMatch(/^_journal\//);
    expect(exits).toEqual({ killed: 'SIGKILL', connectors: 0, survivor: 0 });
    expect(acknowledged).toBeGreaterThan(5_000);
    // B judged what A's journal named (removing what A had put in place uncommitted) and nothing is left to judge.
    expect(journalsLeft).toEqual([]);
  });

  it('every acknowledged bus message is in the bucket or its dead letters exactly once', () => {
    expect(counts.repeatedMessages).toBe(0);
    expect(counts.accountedMessages).toBe(acknowledged);
  });

  it('no natural key is in the bucket twice', () => {
    expect(counts.naturalKeyRepeats).toEqual(noNaturalKeyRepeats);
  });
});
