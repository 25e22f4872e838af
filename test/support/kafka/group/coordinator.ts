/**
 * The test broker's group coordinator: Kafka's classic consumer-group protocol as a state machine with injected
 * timers, no sockets and no bytes (the API modules beside it decode requests and encode answers).
 *
 *   Empty ──join──▶ PreparingRebalance ──all known members rejoined, or rebalance timeout──▶ CompletingRebalance
 *     ▲                    ▲                                                                      │ leader's SyncGroup
 *     └── last member gone ┴──── join / leave / session expiry / changed protocols ◀── Stable ◀───┘
 *
 * Behaviour follows Kafka 3.x's GroupCoordinator where kafkajs can see it: member ids are assigned by the broker (on
 * JoinGroup v4+ the first join is answered MEMBER_ID_REQUIRED with the id to rejoin with), the first member is the
 * leader and alone receives every member's metadata, the join is answered once every known member rejoined (or the
 * rebalance timeout removed the ones that did not), followers' SyncGroup waits for the leader's assignment, heartbeats
 * answer REBALANCE_IN_PROGRESS while a rebalance is being prepared, and a member silent for its session timeout is
 * removed, which starts a rebalance — unless it is waiting for the coordinator's answer to its JoinGroup or SyncGroup
 * (Kafka's shouldKeepAlive): its session restarts when it is answered. The coordinator only carries the assignment
 * bytes: the leader (kafkajs) computes them. Not modelled: static membership (group_instance_id is carried but gives
 * no identity across restarts), offset retention, and checking that committed topics exist.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../api.js';
import { type CommittedOffset, OffsetStore, type TopicPartitions } from './offsets.js';
import { type CancelTimer, type GroupTimers, systemTimers } from './timers.js';

/** Kafka's INVALID_GROUP_ID, absent from the core's table because only the group APIs answer it. */
export const INVALID_GROUP_ID = 24;

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface GroupProtocol {
  name: string;
  metadata: Buffer;
}

export interface JoinGroupRequest {
  groupId: string;
  /** '' for a member joining for the first time. */
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: GroupProtocol[];
  /** JoinGroup v4+: a new member first gets its id with MEMBER_ID_REQUIRED and must join again with it. */
  requireKnownMemberId: boolean;
}

export interface JoinedMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

export interface JoinGroupResult {
  errorCode: number;
  generationId: number;
  protocolName: string;
  leaderId: string;
  memberId: string;
  /** Every member's metadata for the chosen protocol, for the leader only; empty for followers and on errors. */
  members: JoinedMember[];
}

export interface SyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  /** Empty from followers; from the leader, each member's assignment. */
  assignments: { memberId: string; assignment: Buffer }[];
}

export interface SyncGroupResult {
  errorCode: number;
  assignment: Buffer;
}

export interface MemberRef {
  groupId: string;
  generationId: number;
  memberId: string;
}

export interface OffsetCommitRequest {
  groupId: string;
  /** -1 (and memberId '') for a commit from outside group management: allowed only while the group is Empty. */
  generationId: number;
  memberId: string;
  topics: { topic: string; partitions: ({ partition: number } & CommittedOffset)[] }[];
}

export interface PartitionError {
  topic: string;
  partitions: { partition: number; errorCode: number }[];
}

export interface FetchedOffsets {
  topic: string;
  partitions: ({ partition: number; errorCode: number } & CommittedOffset)[];
}

export interface GroupCoordinatorOptions {
  timers?: GroupTimers;
  /** Kafka's group.min.session.timeout.ms: a join asking for less is refused with INVALID_SESSION_TIMEOUT. */
  minSessionTimeoutMs?: number;
  /** Kafka's group.max.session.timeout.ms. */
  maxSessionTimeoutMs?: number;
  /**
   * Kafka's group.initial.rebalance.delay.ms (3000 there): how long the first rebalance of an Empty group waits for
   * more members before answering. 0 here so single-consumer tests do not wait; raise it to see several members land
   * in one generation.
   */
  initialRebalanceDelayMs?: number;
  newMemberId?: (clientId: string) => string;
}

interface Member {
  readonly id: string;
  readonly clientId: string;
  readonly clientHost: string;
  groupInstanceId: string | null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: GroupProtocol[];
  assignment: Buffer;
  awaitingJoin: ((result: JoinGroupResult) => void) | null;
  awaitingSync: ((result: SyncGroupResult) => void) | null;
  cancelSession: CancelTimer | null;
}

interface Group {
  readonly id: string;
  state: GroupState;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leaderId: string | null;
  readonly members: Map<string, Member>;
  /** Ids handed out with MEMBER_ID_REQUIRED, each expiring after the session timeout if its owner never rejoins. */
  readonly pendingMembers: Map<string, CancelTimer>;
  cancelRebalance: CancelTimer | null;
  /** The first rebalance of an Empty group waits out initialRebalanceDelayMs even when everyone has joined. */
  holdJoinUntilTimeout: boolean;
}

const EMPTY = Buffer.alloc(0);

function joinError(errorCode: number, memberId = ''): JoinGroupResult {
  return { errorCode, generationId: -1, protocolName: '', leaderId: '', memberId, members: [] };
}

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private readonly offsets = new OffsetStore();
  private readonly timers: GroupTimers;
  private readonly minSessionTimeoutMs: number;
  private readonly maxSessionTimeoutMs: number;
  private readonly initialRebalanceDelayMs: number;
  private readonly newMemberId: (clientId: string) => string;

  constructor(options: GroupCoordinatorOptions = {}) {
    this.timers = options.timers ?? systemTimers;
    this.minSessionTimeoutMs = options.minSessionTimeoutMs ?? 6_000;
    this.maxSessionTimeoutMs = options.maxSessionTimeoutMs ?? 1_800_000;
    this.initialRebalanceDelayMs = options.initialRebalanceDelayMs ?? 0;
    this.newMemberId = options.newMemberId ?? ((clientId) => `${clientId}-${randomUUID()}`);
  }

  /** For tests and diagnostics: the group's state and generation, or undefined for a group never seen. */
  describe(
    groupId: string,
  ): { state: GroupState; generationId: number; leaderId: string | null; members: string[] } | undefined {
    const group = this.groups.get(groupId);
    if (group === undefined) return undefined;
    return {
      state: group.state,
      generationId: group.generationId,
      leaderId: group.leaderId,
      members: [...group.members.keys()],
    };
  }

  joinGroup(req: JoinGroupRequest): Promise<JoinGroupResult> | JoinGroupResult {
    if (req.groupId === '') return joinError(INVALID_GROUP_ID, req.memberId);
    if (req.sessionTimeoutMs < this.minSessionTimeoutMs || req.sessionTimeoutMs > this.maxSessionTimeoutMs) {
      return joinError(ErrorCode.INVALID_SESSION_TIMEOUT, req.memberId);
    }
    let group = this.groups.get(req.groupId);
    if (group === undefined) {
      if (req.memberId !== '') return joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId);
      group = this.createGroup(req.groupId);
    }
    if (group.state === 'Dead') return joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, req.memberId);
    if (!this.supportsProtocols(group, req.protocolType, req.protocols)) {
      return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, req.memberId);
    }

    if (req.memberId === '') {
      const memberId = this.newMemberId(req.clientId);
      if (req.requireKnownMemberId) {
        this.addPendingMember(group, memberId, req.sessionTimeoutMs);
        return joinError(ErrorCode.MEMBER_ID_REQUIRED, memberId);
      }
      return this.addMemberAndRebalance(group, memberId, req);
    }

    const pendingExpiry = group.pendingMembers.get(req.memberId);
    if (pendingExpiry !== undefined) {
      pendingExpiry();
      group.pendingMembers.delete(req.memberId);
      return this.addMemberAndRebalance(group, req.memberId, req);
    }

    const member = group.members.get(req.memberId);
    if (member === undefined) return joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId);
    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(group, member, req);
      case 'CompletingRebalance':
        // A member that lost the join answer asks again: same protocols get the same answer, anything else rebalances.
        if (sameProtocols(member.protocols, req.protocols)) return this.currentGeneration(group, member);
        return this.updateMemberAndRebalance(group, member, req);
      case 'Stable':
        // The leader rejoining means it wants a new assignment (e.g. its metadata changed): rebalance for it.
        if (member.id === group.leaderId || !sameProtocols(member.protocols, req.protocols)) {
          return this.updateMemberAndRebalance(group, member, req);
        }
        return this.currentGeneration(group, member);
      default:
        return joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId);
    }
  }

  syncGroup(req: SyncGroupRequest): Promise<SyncGroupResult> | SyncGroupResult {
    const group = this.groups.get(req.groupId);
    const member = group?.members.get(req.memberId);
    if (group === undefined || member === undefined)
      return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, assignment: EMPTY };
    if (req.generationId !== group.generationId) return { errorCode: ErrorCode.ILLEGAL_GENERATION, assignment: EMPTY };
    switch (group.state) {
      case 'PreparingRebalance':
        return { errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY };
      case 'Stable':
        this.scheduleSessionExpiry(group, member);
        return { errorCode: ErrorCode.NONE, assignment: member.assignment };
      case 'CompletingRebalance': {
        this.scheduleSessionExpiry(group, member);
        const answer = new Promise<SyncGroupResult>((resolve) => {
          member.awaitingSync = resolve;
        });
        if (member.id === group.leaderId) this.completeSync(group, req.assignments);
        return answer;
      }
      default:
        return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, assignment: EMPTY };
    }
  }

  heartbeat(req: MemberRef): number {
    const group = this.groups.get(req.groupId);
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const member = group.members.get(req.memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (req.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    switch (group.state) {
      case 'PreparingRebalance':
        this.scheduleSessionExpiry(group, member);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      case 'CompletingRebalance':
      case 'Stable':
        this.scheduleSessionExpiry(group, member);
        return ErrorCode.NONE;
      default:
        return ErrorCode.UNKNOWN_MEMBER_ID;
    }
  }

  leaveGroup(groupId: string, memberId: string): number {
    const group = this.groups.get(groupId);
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const pendingExpiry = group.pendingMembers.get(memberId);
    if (pendingExpiry !== undefined) {
      pendingExpiry();
      group.pendingMembers.delete(memberId);
      this.maybeCompleteJoin(group);
      return ErrorCode.NONE;
    }
    const member = group.members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.removeMemberAndUpdateGroup(group, member);
    return ErrorCode.NONE;
  }

  commitOffsets(req: OffsetCommitRequest): PartitionError[] {
    const errorCode = this.commitCheck(req);
    if (errorCode === ErrorCode.NONE) {
      for (const { topic, partitions } of req.topics) {
        for (const { partition, offset, metadata } of partitions) {
          this.offsets.commit(req.groupId, topic, partition, { offset, metadata });
        }
      }
    }
    return req.topics.map(({ topic, partitions }) => ({
      topic,
      partitions: partitions.map(({ partition }) => ({ partition, errorCode })),
    }));
  }

  /** `topics` null means every partition the group has committed (OffsetFetch v2+). */
  fetchOffsets(groupId: string, topics: TopicPartitions[] | null): FetchedOffsets[] {
    return (topics ?? this.offsets.committedPartitions(groupId)).map(({ topic, partitions }) => ({
      topic,
      partitions: partitions.map((partition) => ({
        partition,
        errorCode: ErrorCode.NONE,
        ...this.offsets.get(groupId, topic, partition),
      })),
    }));
  }

  /** Cancels every timer and answers every waiting join and sync, so a stopping broker leaves nothing pending. */
  close(): void {
    for (const group of this.groups.values()) {
      group.cancelRebalance?.();
      group.cancelRebalance = null;
      for (const cancel of group.pendingMembers.values()) cancel();
      group.pendingMembers.clear();
      for (const member of group.members.values()) {
        member.cancelSession?.();
        member.cancelSession = null;
        member.awaitingJoin?.(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, member.id));
        member.awaitingJoin = null;
        member.awaitingSync?.({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, assignment: EMPTY });
        member.awaitingSync = null;
      }
      group.state = 'Dead';
    }
  }

  private createGroup(groupId: string): Group {
    const group: Group = {
      id: groupId,
      state: 'Empty',
      generationId: 0,
      protocolType: null,
      protocolName: null,
      leaderId: null,
      members: new Map(),
      pendingMembers: new Map(),
      cancelRebalance: null,
      holdJoinUntilTimeout: false,
    };
    this.groups.set(groupId, group);
    return group;
  }

  private commitCheck(req: OffsetCommitRequest): number {
    const group = this.groups.get(req.groupId);
    if (group === undefined) {
      // A group Kafka has never seen accepts commits only from outside group management (kafkajs admin setOffsets).
      return req.generationId < 0 ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION;
    }
    if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (req.generationId < 0 && group.state === 'Empty') return ErrorCode.NONE;
    if (group.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    const member = group.members.get(req.memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (req.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    // A commit is proof of life, and a member finishing its batch during PreparingRebalance may still commit it.
    this.scheduleSessionExpiry(group, member);
    return ErrorCode.NONE;
  }

  private supportsProtocols(group: Group, protocolType: string, protocols: GroupProtocol[]): boolean {
    if (protocolType === '' || protocols.length === 0) return false;
    if (group.members.size === 0) return true;
    if (protocolType !== group.protocolType) return false;
    const common = this.commonProtocols(group);
    return protocols.some((p) => common.has(p.name));
  }

  /** Names every current member supports: the candidates for the group's protocol. */
  private commonProtocols(group: Group): Set<string> {
    let common: Set<string> | undefined;
    for (const member of group.members.values()) {
      const names = new Set(member.protocols.map((p) => p.name));
      const previous: Set<string> | undefined = common;
      common = previous === undefined ? names : new Set([...previous].filter((name) => names.has(name)));
    }
    return common ?? new Set<string>();
  }

  private addPendingMember(group: Group, memberId: string, sessionTimeoutMs: number): void {
    const cancel = this.timers.setTimeout(() => {
      // The id was handed out but its owner never came back with it.
      if (group.pendingMembers.delete(memberId)) this.maybeCompleteJoin(group);
    }, sessionTimeoutMs);
    group.pendingMembers.set(memberId, cancel);
  }

  private addMemberAndRebalance(group: Group, memberId: string, req: JoinGroupRequest): Promise<JoinGroupResult> {
    const member: Member = {
      id: memberId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      groupInstanceId: req.groupInstanceId,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      protocols: req.protocols,
      assignment: EMPTY,
      awaitingJoin: null,
      awaitingSync: null,
      cancelSession: null,
    };
    if (group.members.size === 0) group.protocolType = req.protocolType;
    group.members.set(memberId, member);
    if (group.leaderId === null) group.leaderId = memberId;
    const answer = this.awaitJoin(member);
    this.rebalanceFor(group);
    return answer;
  }

  private updateMemberAndRebalance(group: Group, member: Member, req: JoinGroupRequest): Promise<JoinGroupResult> {
    member.protocols = req.protocols;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.groupInstanceId = req.groupInstanceId;
    // A second join while the first still waits: the first connection gets nothing more to say.
    member.awaitingJoin?.(joinError(ErrorCode.UNKNOWN_MEMBER_ID, member.id));
    const answer = this.awaitJoin(member);
    this.rebalanceFor(group);
    return answer;
  }

  private awaitJoin(member: Member): Promise<JoinGroupResult> {
    // A member waiting in a join is alive by definition: its session clock restarts when the join is answered.
    member.cancelSession?.();
    member.cancelSession = null;
    return new Promise((resolve) => {
      member.awaitingJoin = resolve;
    });
  }

  private rebalanceFor(group: Group): void {
    if (group.state === 'PreparingRebalance') this.maybeCompleteJoin(group);
    else this.prepareRebalance(group);
  }

  private prepareRebalance(group: Group): void {
    if (group.state === 'CompletingRebalance') {
      // The assignment being synced is already stale: followers waiting for it must rejoin.
      for (const member of group.members.values()) {
        this.answerSync(group, member, { errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY });
      }
    }
    const initial = group.state === 'Empty';
    const delayMs = initial
      ? this.initialRebalanceDelayMs
      : Math.max(0, ...[...group.members.values()].map((m) => m.rebalanceTimeoutMs));
    group.state = 'PreparingRebalance';
    group.holdJoinUntilTimeout = initial && delayMs > 0;
    group.cancelRebalance?.();
    group.cancelRebalance = this.timers.setTimeout(() => {
      group.cancelRebalance = null;
      this.completeJoin(group);
    }, delayMs);
    this.maybeCompleteJoin(group);
  }

  private maybeCompleteJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance' || group.holdJoinUntilTimeout) return;
    if (group.pendingMembers.size > 0) return;
    for (const member of group.members.values()) if (member.awaitingJoin === null) return;
    this.completeJoin(group);
  }

  /** Ends the join phase: members that did not rejoin are dropped, the rest get the new generation. */
  private completeJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance') return;
    group.cancelRebalance?.();
    group.cancelRebalance = null;
    group.holdJoinUntilTimeout = false;
    for (const member of [...group.members.values()]) {
      if (member.awaitingJoin === null) this.dropMember(group, member);
    }
    group.generationId++;
    if (group.members.size === 0) {
      group.state = 'Empty';
      group.protocolName = null;
      group.protocolType = null;
      group.leaderId = null;
      return;
    }
    group.state = 'CompletingRebalance';
    group.protocolName = this.electProtocol(group);
    if (group.leaderId === null || !group.members.has(group.leaderId)) {
      group.leaderId = group.members.keys().next().value ?? null;
    }
    const protocolName = group.protocolName;
    const everyone = [...group.members.values()].map((m) => ({
      memberId: m.id,
      groupInstanceId: m.groupInstanceId,
      metadata: m.protocols.find((p) => p.name === protocolName)?.metadata ?? EMPTY,
    }));
    for (const member of group.members.values()) {
      const answer = member.awaitingJoin;
      member.awaitingJoin = null;
      member.assignment = EMPTY;
      this.scheduleSessionExpiry(group, member);
      answer?.(this.joinAnswer(group, member, everyone));
    }
  }

  /** Each member votes for its most preferred protocol among those every member supports; the most votes win. */
  private electProtocol(group: Group): string {
    const common = this.commonProtocols(group);
    const votes = new Map<string, number>();
    for (const member of group.members.values()) {
      const choice = member.protocols.find((p) => common.has(p.name));
      if (choice !== undefined) votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1);
    }
    let best = '';
    let bestVotes = -1;
    for (const [name, count] of votes) {
      if (count > bestVotes) {
        best = name;
        bestVotes = count;
      }
    }
    return best;
  }

  private joinAnswer(group: Group, member: Member, everyone: JoinedMember[]): JoinGroupResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolName: group.protocolName ?? '',
      leaderId: group.leaderId ?? '',
      memberId: member.id,
      members: member.id === group.leaderId ? everyone : [],
    };
  }

  private currentGeneration(group: Group, member: Member): JoinGroupResult {
    const protocolName = group.protocolName ?? '';
    const everyone = [...group.members.values()].map((m) => ({
      memberId: m.id,
      groupInstanceId: m.groupInstanceId,
      metadata: m.protocols.find((p) => p.name === protocolName)?.metadata ?? EMPTY,
    }));
    this.scheduleSessionExpiry(group, member);
    return this.joinAnswer(group, member, everyone);
  }

  private completeSync(group: Group, assignments: SyncGroupRequest['assignments']): void {
    const byMember = new Map(assignments.map((a) => [a.memberId, a.assignment]));
    group.state = 'Stable';
    for (const member of group.members.values()) {
      // Copied: the leader's buffer is a view into its request, which the server may reuse.
      const assignment = byMember.get(member.id);
      member.assignment = assignment === undefined ? EMPTY : Buffer.from(assignment);
      this.answerSync(group, member, { errorCode: ErrorCode.NONE, assignment: member.assignment });
    }
  }

  /** Answers a member waiting in SyncGroup; its session clock restarts with the answer, as in Kafka. */
  private answerSync(group: Group, member: Member, result: SyncGroupResult): void {
    const answer = member.awaitingSync;
    if (answer === null) return;
    member.awaitingSync = null;
    this.scheduleSessionExpiry(group, member);
    answer(result);
  }

  private scheduleSessionExpiry(group: Group, member: Member): void {
    member.cancelSession?.();
    member.cancelSession = this.timers.setTimeout(() => {
      member.cancelSession = null;
      if (group.members.get(member.id) !== member) return;
      // Kafka's MemberMetadata.shouldKeepAlive: a member waiting for the coordinator's own answer (its join, or its
      // assignment while the leader computes it) is alive by definition; the session restarts when it is answered.
      // A heartbeat or commit processed while its JoinGroup waits (on another connection, or pipelined on this one)
      // must not start a clock that expels it mid-rebalance.
      if (member.awaitingJoin !== null || member.awaitingSync !== null) return;
      this.removeMemberAndUpdateGroup(group, member);
    }, member.sessionTimeoutMs);
  }

  private dropMember(group: Group, member: Member): void {
    member.cancelSession?.();
    member.cancelSession = null;
    member.awaitingJoin?.(joinError(ErrorCode.UNKNOWN_MEMBER_ID, member.id));
    member.awaitingJoin = null;
    member.awaitingSync?.({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, assignment: EMPTY });
    member.awaitingSync = null;
    group.members.delete(member.id);
    if (group.leaderId === member.id) group.leaderId = group.members.keys().next().value ?? null;
  }

  private removeMemberAndUpdateGroup(group: Group, member: Member): void {
    this.dropMember(group, member);
    if (group.state === 'Stable' || group.state === 'CompletingRebalance') this.prepareRebalance(group);
    else if (group.state === 'PreparingRebalance') this.maybeCompleteJoin(group);
  }
}

function sameProtocols(a: GroupProtocol[], b: GroupProtocol[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i]?.name && p.metadata.equals(b[i].metadata));
}
