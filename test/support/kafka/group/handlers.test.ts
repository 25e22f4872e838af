/**
 * The group APIs on bytes: every request is encoded by kafkajs 2.2.4's own request encoders, handled by ours, and our
 * response decoded by kafkajs's own response decoders, for every version served.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { type ApiHandler, ErrorCode, type RequestHeader } from '../api.js';
import { Reader } from '../codec.js';
import { GroupCoordinator } from './coordinator.js';
import { groupHandlers } from './index.js';
import { ManualTimers } from './timers.js';

const load = createRequire(import.meta.url);

interface KafkajsRequest {
  apiKey: number;
  apiVersion: number;
  encode(): Promise<{ buffer: Buffer }>;
}
// kafkajs's decoders return plain objects whose fields the assertions name; their shapes are kafkajs's, not ours.
type KafkajsDecoded = Record<string, unknown>;
interface KafkajsResponse {
  decode(raw: Buffer): Promise<KafkajsDecoded>;
  parse(decoded: KafkajsDecoded): Promise<KafkajsDecoded>;
}

function kafkajs(api: string, version: number) {
  const dir = `kafkajs/src/protocol/requests/${api}/v${version}`;
  return {
    // biome-ignore lint/suspicious/noExplicitAny: kafkajs request factories take per-API argument objects
    request: load(`${dir}/request.js`) as (args: any) => KafkajsRequest,
    response: load(`${dir}/response.js`) as KafkajsResponse,
  };
}

const GROUP = 'cityhub-pipeline';
const PORT = 19092;

function broker(options: { initialRebalanceDelayMs?: number } = {}) {
  const timers = new ManualTimers();
  const coordinator = new GroupCoordinator({ timers, initialRebalanceDelayMs: options.initialRebalanceDelayMs ?? 0 });
  const handlers = new Map<number, ApiHandler>(
    groupHandlers(coordinator, { nodeId: 0, host: '127.0.0.1', port: () => PORT }).map((h) => [h.apiKey, h]),
  );
  let correlationId = 0;
  /** Encodes with kafkajs, handles with ours, decodes our answer with kafkajs (decode only: errors stay visible). */
  async function call(api: string, version: number, args: object, clientId = 'cityhub-test'): Promise<KafkajsDecoded> {
    const { request, response } = kafkajs(api, version);
    const encoded = request(args);
    const handler = handlers.get(encoded.apiKey);
    if (handler === undefined) throw new Error(`no handler for api key ${encoded.apiKey}`);
    expect(version).toBeGreaterThanOrEqual(handler.minVersion);
    expect(version).toBeLessThanOrEqual(handler.maxVersion);
    const body = new Reader((await encoded.encode()).buffer);
    const header: RequestHeader = {
      apiKey: encoded.apiKey,
      apiVersion: version,
      correlationId: ++correlationId,
      clientId,
    };
    const answer = await handler.handle(body, header, { id: 1, clientHost: '/127.0.0.1' });
    expect(body.remaining()).toBe(0);
    return response.decode(answer);
  }
  return { timers, coordinator, handlers, call };
}

const protocols = (topics: string) => [{ name: 'RoundRobinAssigner', metadata: Buffer.from(topics) }];

describe('group API handlers, against kafkajs 2.2.4 encoders and decoders', () => {
  it('advertise the versions kafkajs negotiates for each group API', () => {
    const { handlers } = broker();
    const served = [...handlers.values()].map((h) => [h.name, h.apiKey, h.minVersion, h.maxVersion]);
    expect(served).toEqual([
      ['FindCoordinator', 10, 0, 2],
      ['JoinGroup', 11, 0, 5],
      ['SyncGroup', 14, 0, 3],
      ['Heartbeat', 12, 0, 3],
      ['LeaveGroup', 13, 0, 3],
      ['OffsetCommit', 8, 0, 5],
      ['OffsetFetch', 9, 1, 4],
    ]);
    // kafkajs picks min(its highest implemented version, the broker's max): ours must be exactly its highest.
    for (const [api, key] of [
      ['findCoordinator', 10],
      ['joinGroup', 11],
      ['syncGroup', 14],
      ['heartbeat', 12],
      ['leaveGroup', 13],
      ['offsetCommit', 8],
      ['offsetFetch', 9],
    ] as const) {
      const { versions } = load(`kafkajs/src/protocol/requests/${api}/index.js`) as { versions: string[] };
      expect(Math.max(...versions.map(Number)), api).toBe(handlers.get(key)?.maxVersion);
    }
  });

  it.each([0, 1, 2])('FindCoordinator v%i names this broker as every group coordinator', async (version) => {
    const { call } = broker();
    const decoded = await call('findCoordinator', version, {
      groupId: GROUP,
      coordinatorKey: GROUP,
      coordinatorType: 0,
    });
    expect(decoded).toMatchObject({ errorCode: 0, coordinator: { nodeId: 0, host: '127.0.0.1', port: PORT } });
  });

  it.each([0, 1, 2, 3, 4, 5])(
    'JoinGroup, SyncGroup, Heartbeat v%i (capped at each API max) carry a lone member through a generation',
    async (joinVersion) => {
      const syncVersion = Math.min(joinVersion, 3);
      const { call } = broker();
      const join = { groupId: GROUP, sessionTimeout: 30_000, rebalanceTimeout: 60_000, protocolType: 'consumer' };
      let joined = await call('joinGroup', joinVersion, {
        ...join,
        memberId: '',
        groupProtocols: protocols('raw.sensor'),
      });
      if (joinVersion >= 4) {
        expect(joined.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
        expect(joined.memberId).toMatch(/^cityhub-test-/);
        // kafkajs's v4+ parser turns it into the error its broker catches to rejoin with the id.
        const { response } = kafkajs('joinGroup', joinVersion);
        await expect(response.parse(joined)).rejects.toMatchObject({ name: 'KafkaJSMemberIdRequired' });
        joined = await call('joinGroup', joinVersion, {
          ...join,
          memberId: joined.memberId,
          groupProtocols: protocols('raw.sensor'),
        });
      }
      const memberId = joined.memberId as string;
      expect(joined).toMatchObject({
        errorCode: 0,
        generationId: 1,
        groupProtocol: 'RoundRobinAssigner',
        leaderId: memberId,
      });
      expect(joined.members).toMatchObject([{ memberId, memberMetadata: Buffer.from('raw.sensor') }]);

      const synced = await call('syncGroup', syncVersion, {
        groupId: GROUP,
        generationId: 1,
        memberId,
        groupAssignment: [{ memberId, memberAssignment: Buffer.from('all partitions') }],
      });
      expect(synced).toMatchObject({ errorCode: 0, memberAssignment: Buffer.from('all partitions') });

      const heartbeat = await call('heartbeat', syncVersion, { groupId: GROUP, groupGenerationId: 1, memberId });
      expect(heartbeat.errorCode).toBe(0);
      const stale = await call('heartbeat', syncVersion, { groupId: GROUP, groupGenerationId: 0, memberId });
      expect(stale.errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    },
  );

  it('JoinGroup v5 gives the leader every member with its metadata, and followers none', async () => {
    const { timers, coordinator, call } = broker({ initialRebalanceDelayMs: 3_000 });
    const join = { groupId: GROUP, sessionTimeout: 30_000, rebalanceTimeout: 60_000, protocolType: 'consumer' };
    const idA = (await call('joinGroup', 5, { ...join, memberId: '', groupProtocols: protocols('a') }, 'a')).memberId;
    const idB = (await call('joinGroup', 5, { ...join, memberId: '', groupProtocols: protocols('b') }, 'b')).memberId;
    const a = call('joinGroup', 5, { ...join, memberId: idA, groupProtocols: protocols('topics of a') });
    const b = call('joinGroup', 5, { ...join, memberId: idB, groupProtocols: protocols('topics of b') });
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(coordinator.describe(GROUP)?.members).toEqual([idA, idB]);
    timers.advance(3_000);
    const [joinA, joinB] = await Promise.all([a, b]);
    expect(joinA.leaderId).toBe(idA);
    expect(joinA.members).toEqual([
      { memberId: idA, groupInstanceId: null, memberMetadata: Buffer.from('topics of a') },
      { memberId: idB, groupInstanceId: null, memberMetadata: Buffer.from('topics of b') },
    ]);
    expect(joinB).toMatchObject({ errorCode: 0, leaderId: idA, memberId: idB, members: [] });
  });

  it.each([0, 1, 2, 3])(
    'LeaveGroup v%i removes the member and answers unknown members as Kafka does',
    async (version) => {
      const { call, coordinator } = broker();
      const joined = await call('joinGroup', 3, {
        groupId: GROUP,
        sessionTimeout: 30_000,
        rebalanceTimeout: 60_000,
        memberId: '',
        protocolType: 'consumer',
        groupProtocols: protocols('raw.sensor'),
      });
      const memberId = joined.memberId as string;
      // kafkajs's v3 request takes the member list its broker builds from memberId.
      const leave = { groupId: GROUP, memberId, members: [{ memberId }] };
      const left = await call('leaveGroup', version, leave);
      expect(left.errorCode).toBe(0);
      if (version >= 3) expect(left.members).toEqual([{ memberId, groupInstanceId: null, errorCode: 0 }]);
      expect(coordinator.describe(GROUP)).toMatchObject({ state: 'Empty', members: [] });

      const again = await call('leaveGroup', version, leave);
      if (version >= 3) {
        expect(again.members).toEqual([{ memberId, groupInstanceId: null, errorCode: ErrorCode.UNKNOWN_MEMBER_ID }]);
      } else {
        expect(again.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
      }
    },
  );

  it.each([
    [0, 1],
    [1, 1],
    [2, 2],
    [3, 3],
    [4, 4],
    [5, 4],
  ])(
    'OffsetCommit v%i stores offsets that OffsetFetch v%i reads back, -1 where none',
    async (commitVersion, fetchVersion) => {
      const { call } = broker();
      let generationId = -1;
      let memberId = '';
      if (commitVersion >= 1) {
        const joined = await call('joinGroup', 3, {
          groupId: GROUP,
          sessionTimeout: 30_000,
          rebalanceTimeout: 60_000,
          memberId: '',
          protocolType: 'consumer',
          groupProtocols: protocols('raw.sensor'),
        });
        memberId = joined.memberId as string;
        generationId = joined.generationId as number;
        await call('syncGroup', 2, { groupId: GROUP, generationId, memberId, groupAssignment: [] });

        const stale = await call('offsetCommit', commitVersion, {
          groupId: GROUP,
          groupGenerationId: generationId - 1,
          memberId,
          retentionTime: -1,
          topics: [{ topic: 'raw.sensor', partitions: [{ partition: 0, offset: '7' }] }],
        });
        expect(stale.responses).toEqual([
          { topic: 'raw.sensor', partitions: [{ partition: 0, errorCode: ErrorCode.ILLEGAL_GENERATION }] },
        ]);
      }

      const committed = await call('offsetCommit', commitVersion, {
        groupId: GROUP,
        groupGenerationId: generationId,
        memberId,
        retentionTime: -1,
        topics: [{ topic: 'raw.sensor', partitions: [{ partition: 1, offset: '12345678901', metadata: 'landed' }] }],
      });
      expect(committed.responses).toEqual([{ topic: 'raw.sensor', partitions: [{ partition: 1, errorCode: 0 }] }]);

      const fetched = await call('offsetFetch', fetchVersion, {
        groupId: GROUP,
        topics: [{ topic: 'raw.sensor', partitions: [{ partition: 0 }, { partition: 1 }] }],
      });
      expect(fetched.responses).toEqual([
        {
          topic: 'raw.sensor',
          partitions: [
            { partition: 0, offset: '-1', metadata: '', errorCode: 0 },
            { partition: 1, offset: '12345678901', metadata: 'landed', errorCode: 0 },
          ],
        },
      ]);
      if (fetchVersion >= 2) expect(fetched.errorCode).toBe(0);
    },
  );

  it('OffsetFetch v2+ with a null topic list answers every partition the group committed', async () => {
    const { call, handlers } = broker();
    await call('offsetCommit', 0, {
      groupId: GROUP,
      topics: [{ topic: 'raw.hotline', partitions: [{ partition: 2, offset: '9' }] }],
    });
    // kafkajs's consumer never sends the null list itself: group_id then an array length of -1, by hand.
    const groupId = Buffer.from(GROUP);
    const length = Buffer.alloc(2);
    length.writeInt16BE(groupId.length);
    const body = new Reader(Buffer.concat([length, groupId, Buffer.from([0xff, 0xff, 0xff, 0xff])]));
    const header: RequestHeader = { apiKey: 9, apiVersion: 4, correlationId: 1, clientId: 'admin' };
    const answer = await handlers.get(9)?.handle(body, header, { id: 1, clientHost: '/127.0.0.1' });
    if (answer === undefined) throw new Error('no OffsetFetch handler');
    const decoded = await kafkajs('offsetFetch', 4).response.decode(answer);
    expect(decoded.responses).toEqual([
      { topic: 'raw.hotline', partitions: [{ partition: 2, offset: '9', metadata: null, errorCode: 0 }] },
    ]);
  });
});
