/**
 * Test harness of the dept-files connector: a temp dir with a real embedded bus and source checkpoint, the
 * connector run to its end (`once`), and everything it put on the bus normalized by the real dept normalizer.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { openEmbeddedBus } from '../../pipelines/bus/embedded/index.js';
import type { Bus, BusProducer } from '../../pipelines/bus/types.js';
import { ConnectorDeadLetterReader, deadLetterTopic } from '../../pipelines/normalize/connector-dead-letter.js';
import { type DeadLetter, type LandingRow, Normalizer } from '../../pipelines/normalize/normalizer.js';
import type { DataResource } from '../../schemas/index.js';
import { SourceCheckpoint } from '../source-checkpoint.js';
import { rawTopic } from '../types.js';
import { type DeptFilesConnectorConfig, deptFilesConnectorConfig } from './config.js';
import { DeptFilesConnector } from './connector.js';

export const silentLog = pino({ level: 'silent' });
export const topics = [rawTopic('dept'), deadLetterTopic('dept')];

/** 西湖区 城管局's inspection records: a name (required), a count and a date. */
export const resources: DataResource[] = [
  {
    resource_code: 'R330106003',
    name: '市容巡查记录',
    department_code: '330106-CG',
    region_code: '330106',
    share_type: 'unconditional',
    update_frequency: 'daily',
    fields: [
      { name: '名称', type: 'text', required: true },
      { name: '数量', type: 'integer', required: false },
      { name: '日期', type: 'date', required: false },
    ],
  },
  {
    resource_code: 'R330106004',
    name: '门前三包',
    department_code: '330106-CG',
    region_code: '330106',
    share_type: 'conditional',
    update_frequency: 'monthly',
  },
];

/** What the pipeline made of the bus: landed rows per dataset and every dead letter (the connector's and its own). */
export interface Landed {
  deliveries: Record<string, unknown>[];
  records: Record<string, unknown>[];
  deadLetters: DeadLetter[];
  received: number;
  landed: number;
}

export class DeptHarness {
  dir = '';
  bus!: Bus;

  async open(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'cityhub-dept-files-'));
    await mkdir(this.inbox, { recursive: true });
    this.bus = await openEmbeddedBus({ dir: join(this.dir, 'bus'), fsync: 'never' });
    for (const topic of topics) await this.bus.ensureTopic(topic, { partitions: 2 });
  }

  async close(): Promise<void> {
    await this.bus?.close();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  get inbox(): string {
    return join(this.dir, 'inbox');
  }

  config(overrides: Record<string, unknown> = {}): DeptFilesConnectorConfig {
    return deptFilesConnectorConfig.parse({
      id: 'xihu-cg',
      kind: 'dept-files',
      source: { type: 'folder', path: 'inbox', settle_ms: 0, poll_interval_ms: 10 },
      read: { format: 'csv', encoding: 'utf8' },
      resource: { from: 'file_name', pattern: '^(?<resource>R\\d+)_' },
      once: true,
      ...overrides,
    });
  }

  connector(config: DeptFilesConnectorConfig): DeptFilesConnector {
    return new DeptFilesConnector(config, this.inbox, join(this.dir, 'checkpoints', config.id));
  }

  async checkpoint(id = 'xihu-cg'): Promise<SourceCheckpoint> {
    return SourceCheckpoint.open(join(this.dir, 'checkpoints', `${id}.json`), {
      bus: this.bus,
      topics,
      log: silentLog,
    });
  }

  /** Runs the connector to its end (`once`) with a guarded producer, as the hub does. */
  async run(config: DeptFilesConnectorConfig, wrap?: (p: BusProducer) => BusProducer): Promise<DeptFilesConnector> {
    const checkpoint = await this.checkpoint(config.id);
    const guarded = checkpoint.guard(this.bus.producer());
    const connector = this.connector(config);
    await connector.start({
      producer: wrap ? wrap(guarded) : guarded,
      checkpoint,
      log: silentLog,
      dataResources: resources,
    });
    await connector.done;
    return connector;
  }

  /** Normalizes everything on raw.dept and dlq.dept with the real normalizer. */
  async landed(): Promise<Landed> {
    const normalizer = new Normalizer('dept', {
      salt: 'test-key',
      regionCodes: new Set(['330000', '330100', '330106']),
      maxPayloadBytes: 1024 * 1024,
      minEventMs: Date.parse('2000-01-01T00:00:00+08:00'),
      maxFutureSkewMs: 24 * 3600_000,
      dataResources: resources,
    });
    const dlq = new ConnectorDeadLetterReader('dept');
    const out: Landed = { deliveries: [], records: [], deadLetters: [], received: 0, landed: 0 };
    const take = (rows: LandingRow[], deadLetters: DeadLetter[], received: number, landed: number) => {
      for (const row of rows) (row.dataset === 'dept_delivery' ? out.deliveries : out.records).push(row.row);
      out.deadLetters.push(...deadLetters);
      out.received += received;
      out.landed += landed;
    };
    for (const topic of topics) {
      for (const { partition, highWatermark } of await this.bus.describe(topic)) {
        for (let offset = 0; offset < highWatermark; ) {
          const { messages, nextOffset } = await this.bus.read({ topic, partition }, offset, 1000);
          for (const m of messages) {
            const n = topic === topics[0] ? normalizer.normalize(m.value) : dlq.normalize(m.value);
            take(n.rows, n.deadLetters, n.received, n.landed);
          }
          offset = nextOffset;
        }
      }
    }
    return out;
  }
}
