import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../api.js';
import { GroupCoordinator, type JoinGroupRequest, type JoinGroupResult, type SyncGroupResult } from './coordinator.js';
import { ManualTimers } from './timers.js';

const GROUP = 'cityhub-pipeline';
const SESSION_MS = 10_000;
const REBALANCE_MS = 30_000;

function setup(options: { initialRebalanceDelayMs?: number } = {}) {
  const timers = new ManualTimers();
  let next = 0;
  const coordinator = new GroupCoordinator({
    timers,
    initialRebalanceDelayMs: options.initialRebalanceDelayMs ?? 0,
    newMemberId: (clientId) => `${clientId}-${++next}`,
  });
  return { timers, coordinator };
}

function joinRequest(clientId: string, overrides: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return {
    groupId: GROUP,
    memberId: '',
    groupInstanceId: null,
    clientId,
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: SESSION_MS,
    rebalanceTimeoutMs: REBALANCE_MS,
    protocolType: 'consumer',
    protocols: [{ name: 'RoundRobinAssigner', metadata: Buffer.from(`subscription of ${clientId}`) }],
    requireKnownMemberId: false,
    ...overrides,
  };
}

/** Tracks whether a join or sync answer has arrived yet, without sleeping. */
function watch<T>(answer: Promise<T> | T): { settled: () => boolean; result: Promise<T> } {
  let settled = false;
  const result = Promise.resolve(answer).then((value) => {
    settled = true;
    return value;
  });
  return { settled: () => settled, result };
}

/** Lets resolved promise callbacks run, so `settled()` reflects what the coordinator answered. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Two members in one generation, synced and Stable: the starting point of most tests. */
async function stableGroupOfTwo() {
  const ctx = setup({ initialRebalanceDelayMs: 3_000 });
  const a = watch(ctx.coordinator.joinGroup(joinRequest('a')));
  const b = watch(ctx.coordinator.joinGroup(joinRequest('b')));
  ctx.timers.advance(3_000);
  const [joinA, joinB] = await Promise.all([a.result, b.result]);
  const syncB = ctx.coordinator.syncGroup({
    groupId: GROUP,
    generationId: 1,
    memberId: joinB.memberId,
    assignments: [],
  });
  const syncA = ctx.coordinator.syncGroup({
    groupId: GROUP,
    generationId: 1,
    memberId: joinA.memberId,
    assignments: [
      { memberId: joinA.memberId, assignment: Buffer.from('partitions 0,1') },
      { memberId: joinB.memberId, assignment: Buffer.from('partitions 2,3') },
    ],
  });
  await Promise.all([syncA, syncB]);
  return { ...ctx, a: joinA.memberId, b: joinB.memberId };
}

describe('group coordinator', () => {
  it('answers two joining members together: the leader gets both subscriptions, sync hands each its assignment', async () => {
    const { timers, coordinator } = setup({ initialRebalanceDelayMs: 3_000 });
    const a = watch(coordinator.joinGroup(joinRequest('a')));
    const b = watch(coordinator.joinGroup(joinRequest('b')));
    await flush();
    expect(a.settled() || b.settled()).toBe(false);

    timers.advance(3_000);
    const [joinA, joinB] = await Promise.all([a.result, b.result]);
    expect(joinA).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 1, leaderId: 'a-1', memberId: 'a-1' });
    expect(joinA.protocolName).toBe('RoundRobinAssigner');
    expect(joinA.members.map((m) => [m.memberId, m.metadata.toString()])).toEqual([
      ['a-1', 'subscription of a'],
      ['b-2', 'subscription of b'],
    ]);
    expect(joinB).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 1, leaderId: 'a-1', memberId: 'b-2' });
    expect(joinB.members).toEqual([]);

    const follower = watch(
      coordinator.syncGroup({ groupId: GROUP, generationId: 1, memberId: 'b-2', assignments: [] }),
    );
    await flush();
    expect(follower.settled()).toBe(false);
    const leader = await coordinator.syncGroup({
      groupId: GROUP,
      generationId: 1,
      memberId: 'a-1',
      assignments: [
        { memberId: 'a-1', assignment: Buffer.from('partitions 0,1') },
        { memberId: 'b-2', assignment: Buffer.from('partitions 2,3') },
      ],
    });
    expect(leader.errorCode).toBe(ErrorCode.NONE);
    expect(leader.assignment.toString()).toBe('partitions 0,1');
    const followerResult: SyncGroupResult = await follower.result;
    expect(followerResult.errorCode).toBe(ErrorCode.NONE);
    expect(followerResult.assignment.toString()).toBe('partitions 2,3');
    expect(coordinator.describe(GROUP)?.state).toBe('Stable');
  });

  it('hands a new member its id with MEMBER_ID_REQUIRED on JoinGroup v4+, and accepts the rejoin with it', async () => {
    const { coordinator } = setup();
    const first = await coordinator.joinGroup(joinRequest('a', { requireKnownMemberId: true }));
    expect(first).toMatchObject({ errorCode: ErrorCode.MEMBER_ID_REQUIRED, memberId: 'a-1' });
    expect(coordinator.describe(GROUP)?.members).toEqual([]);

    const second = await coordinator.joinGroup(joinRequest('a', { requireKnownMemberId: true, memberId: 'a-1' }));
    expect(second).toMatchObject({ errorCode: ErrorCode.NONE, memberId: 'a-1', leaderId: 'a-1', generationId: 1 });

    const stranger = await coordinator.joinGroup(joinRequest('x', { memberId: 'made-up' }));
    expect(stranger.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('makes a third member trigger a rebalance: heartbeats answer REBALANCE_IN_PROGRESS until all rejoin in a new generation', async () => {
    const { coordinator, a, b } = await stableGroupOfTwo();
    expect(coordinator.heartbeat({ groupId: GROUP, generationId: 1, memberId: a })).toBe(ErrorCode.NONE);

    const c = watch(coordinator.joinGroup(joinRequest('c')));
    await flush();
    expect(c.settled()).toBe(false);
    expect(coordinator.heartbeat({ groupId: GROUP, generationId: 1, memberId: a })).toBe(
      ErrorCode.REBALANCE_IN_PROGRESS,
    );
    expect(coordinator.heartbeat({ groupId: GROUP, generationId: 1, memberId: b })).toBe(
      ErrorCode.REBALANCE_IN_PROGRESS,
    );

    const rejoinA = watch(coordinator.joinGroup(joinRequest('a', { memberId: a })));
    await flush();
    expect(rejoinA.settled()).toBe(false);
    const rejoinB = coordinator.joinGroup(joinRequest('b', { memberId: b }));
    const [joinA, joinB, joinC] = await Promise.all([rejoinA.result, rejoinB, c.result]);
    for (const join of [joinA, joinB, joinC])
      expect(join).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 2 });
    expect(joinA.leaderId).toBe(a);
    expect(joinA.members.map((m) => m.memberId).sort()).toEqual([a, b, joinC.memberId].sort());

    // A member still on the old generation is told so, which kafkajs treats as "rejoin".
    expect(coordinator.heartbeat({ groupId: GROUP, generationId: 1, memberId: b })).toBe(ErrorCode.ILLEGAL_GENERATION);
  });

  it('expires a member that stops heartbeating after its session timeout, and rebalances the rest', async () => {
    const { timers, coordinator, a, b } = await stableGroupOfTwo();
    timers.advance(SESSION_MS - 1);
    expect(coordinator.heartbeat({ groupId: GROUP, generationId: 1, memberId: a })).toBe(ErrorCode.NONE);
    timers.advance(1);
    expect(coordinator.describe(GROUP)?.members).toEqual([a]);
    expect(coordinator.heartbeat({ groupId: GROUP, generationId: 1, memberId: a })).toBe(
      ErrorCode.REBALANCE_IN_PROGRESS,
    );

    const rejoin = await coordinator.joinGroup(joinRequest('a', { memberId: a }));
    expect(rejoin).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 2, leaderId: a });
    expect(rejoin.members.map((m) => m.memberId)).toEqual([a]);
    expect(coordinator.heartbeat({ groupId: GROUP, generationId: 1, memberId: b })).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('keeps a member waiting in JoinGroup past its session timeout, even when it committed meanwhile', async () => {
    const { timers, coordinator, a, b } = await stableGroupOfTwo();
    const c = watch(coordinator.joinGroup(joinRequest('c')));
    const rejoinA = watch(coordinator.joinGroup(joinRequest('a', { memberId: a })));
    // a's commit (or a heartbeat pipelined behind its join) arrives while its join waits: proof of life, not a clock.
    const commit = coordinator.commitOffsets({
      groupId: GROUP,
      generationId: 1,
      memberId: a,
      topics: [{ topic: 'raw', partitions: [{ partition: 0, offset: 5n, metadata: null }] }],
    });
    expect(commit[0]?.partitions[0]?.errorCode).toBe(ErrorCode.NONE);
    // b is slow to rejoin but alive; the round waits for it past a's session timeout.
    for (let waited = 0; waited < SESSION_MS + 2_000; waited += 2_000) {
      timers.advance(2_000);
      expect(coordinator.heartbeat({ groupId: GROUP, generationId: 1, memberId: b })).toBe(
        ErrorCode.REBALANCE_IN_PROGRESS,
      );
    }
    await flush();
    expect(rejoinA.settled()).toBe(false);
    expect(coordinator.describe(GROUP)?.members).toContain(a);
    const rejoinB = await coordinator.joinGroup(joinRequest('b', { memberId: b }));
    const [joinA, joinC] = await Promise.all([rejoinA.result, c.result]);
    expect(joinA).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 2, leaderId: a });
    expect(joinA.members.map((m) => m.memberId)).toEqual([a, b, joinC.memberId]);
    expect(rejoinB.generationId).toBe(2);
  });

  it('keeps a follower waiting in SyncGroup for the leader past its session timeout', async () => {
    const { timers, coordinator, a, b } = await stableGroupOfTwo();
    // The leader rejoining starts a new generation; both rejoin.
    const rejoinA = watch(coordinator.joinGroup(joinRequest('a', { memberId: a })));
    const rejoinB = watch(coordinator.joinGroup(joinRequest('b', { memberId: b })));
    const [joinA] = await Promise.all([rejoinA.result, rejoinB.result]);
    expect(joinA.generationId).toBe(2);
    // b asks for its assignment at once and waits; the leader takes its time (a metadata refresh) but heartbeats.
    const syncB = watch(coordinator.syncGroup({ groupId: GROUP, generationId: 2, memberId: b, assignments: [] }));
    for (let waited = 0; waited < SESSION_MS + 2_000; waited += 2_000) {
      timers.advance(2_000);
      expect(coordinator.heartbeat({ groupId: GROUP, generationId: 2, memberId: a })).toBe(ErrorCode.NONE);
    }
    await flush();
    expect(syncB.settled()).toBe(false);
    await coordinator.syncGroup({
      groupId: GROUP,
      generationId: 2,
      memberId: a,
      assignments: [
        { memberId: a, assignment: Buffer.from('partitions 0,1') },
        { memberId: b, assignment: Buffer.from('partitions 2,3') },
      ],
    });
    expect(await syncB.result).toEqual({ errorCode: ErrorCode.NONE, assignment: Buffer.from('partitions 2,3') });
    // b's session restarted with the answer: it lives a full session timeout from now, not from its SyncGroup.
    timers.advance(SESSION_MS - 1);
    expect(coordinator.heartbeat({ groupId: GROUP, generationId: 2, memberId: b })).toBe(ErrorCode.NONE);
  });

  it('drops members that do not rejoin within the rebalance timeout and answers the others', async () => {
    const { timers, coordinator, a, b } = await stableGroupOfTwo();
    const c = watch(coordinator.joinGroup(joinRequest('c')));
    const rejoinA = watch(coordinator.joinGroup(joinRequest('a', { memberId: a })));
    // b keeps heartbeating (so its session lives) but never rejoins: a consumer stuck in a long batch.
    for (let waited = 0; waited < REBALANCE_MS - 5_000; waited += 5_000) {
      timers.advance(5_000);
      expect(coordinator.heartbeat({ groupId: GROUP, generationId: 1, memberId: b })).toBe(
        ErrorCode.REBALANCE_IN_PROGRESS,
      );
    }
    await flush();
    expect(rejoinA.settled()).toBe(false);
    timers.advance(5_000);
    const [joinA, joinC] = await Promise.all([rejoinA.result, c.result]);
    expect(joinA.generationId).toBe(2);
    expect(joinA.members.map((m) => m.memberId)).toEqual([a, joinC.memberId]);
    expect(coordinator.heartbeat({ groupId: GROUP, generationId: 2, memberId: b })).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('rebalances at once when a member leaves, and elects a new leader when the leader left', async () => {
    const { coordinator, a, b } = await stableGroupOfTwo();
    expect(coordinator.leaveGroup(GROUP, a)).toBe(ErrorCode.NONE);
    expect(coordinator.heartbeat({ groupId: GROUP, generationId: 1, memberId: b })).toBe(
      ErrorCode.REBALANCE_IN_PROGRESS,
    );
    const rejoin: JoinGroupResult = await coordinator.joinGroup(joinRequest('b', { memberId: b }));
    expect(rejoin).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 2, leaderId: b });
    expect(coordinator.leaveGroup(GROUP, a)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('refuses commits from a stale generation or an unknown member, accepts current ones, and fetches them back', async () => {
    const { coordinator, a } = await stableGroupOfTwo();
    const commit = (generationId: number, memberId: string, offset: bigint) =>
      coordinator.commitOffsets({
        groupId: GROUP,
        generationId,
        memberId,
        topics: [{ topic: 'raw.sensor', partitions: [{ partition: 0, offset, metadata: 'landed' }] }],
      })[0]?.partitions[0]?.errorCode;

    expect(commit(0, a, 10n)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(commit(1, 'someone-else', 10n)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(coordinator.fetchOffsets(GROUP, [{ topic: 'raw.sensor', partitions: [0, 1] }])).toEqual([
      {
        topic: 'raw.sensor',
        partitions: [
          { partition: 0, offset: -1n, metadata: '', errorCode: ErrorCode.NONE },
          { partition: 1, offset: -1n, metadata: '', errorCode: ErrorCode.NONE },
        ],
      },
    ]);

    expect(commit(1, a, 42n)).toBe(ErrorCode.NONE);
    // A member finishing its in-flight batch while a rebalance is being prepared may still commit it.
    void coordinator.joinGroup(joinRequest('c'));
    expect(coordinator.describe(GROUP)?.state).toBe('PreparingRebalance');
    expect(commit(1, a, 43n)).toBe(ErrorCode.NONE);

    expect(coordinator.fetchOffsets(GROUP, [{ topic: 'raw.sensor', partitions: [0] }])[0]?.partitions[0]).toEqual({
      partition: 0,
      offset: 43n,
      metadata: 'landed',
      errorCode: ErrorCode.NONE,
    });
    expect(coordinator.fetchOffsets(GROUP, null)).toEqual([
      {
        topic: 'raw.sensor',
        partitions: [{ partition: 0, offset: 43n, metadata: 'landed', errorCode: ErrorCode.NONE }],
      },
    ]);
  });

  it('refuses a commit while the new assignment is being synced', async () => {
    const { coordinator } = setup();
    const join = await coordinator.joinGroup(joinRequest('a'));
    expect(coordinator.describe(GROUP)?.state).toBe('CompletingRebalance');
    const [topic] = coordinator.commitOffsets({
      groupId: GROUP,
      generationId: join.generationId,
      memberId: join.memberId,
      topics: [{ topic: 'raw.sensor', partitions: [{ partition: 0, offset: 5n, metadata: null }] }],
    });
    expect(topic?.partitions[0]?.errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  });

  it('refuses a member whose protocols the group cannot share, and session timeouts outside the broker limits', async () => {
    const { coordinator } = await stableGroupOfTwo();
    const other = await coordinator.joinGroup(
      joinRequest('x', { protocols: [{ name: 'CustomAssigner', metadata: Buffer.alloc(0) }] }),
    );
    expect(other.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const connect = await coordinator.joinGroup(joinRequest('y', { protocolType: 'connect' }));
    expect(connect.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const tooShort = await coordinator.joinGroup(joinRequest('z', { sessionTimeoutMs: 100 }));
    expect(tooShort.errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
  });

  it('answers waiting joins and syncs when closed, leaving no timers behind', async () => {
    const { timers, coordinator } = setup({ initialRebalanceDelayMs: 3_000 });
    const waiting = coordinator.joinGroup(joinRequest('a'));
    coordinator.close();
    expect((await waiting).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(timers.size).toBe(0);
  });
});
