/**
 * In-process group membership. Members of one group split each subscribed topic's partitions by Kafka's range
 * assignor (members sorted by join order; the first `partitions % members` get one extra), recomputed whenever a
 * member subscribes or leaves, or a topic appears. Rebalancing is synchronous: when subscribe() returns, every
 * member of the group already owns its new share.
 */
import type { TopicPartition } from '../types.js';

export interface GroupMember {
  readonly groupId: string;
  readonly memberId: number;
  readonly topics: ReadonlySet<string>;
  /** Replaces the member's partitions (sorted by topic, then partition). */
  assign(partitions: TopicPartition[]): void;
}

export class GroupCoordinator {
  private readonly groups = new Map<string, GroupMember[]>();
  private nextMemberId = 1;

  constructor(
    /** Partition count of a topic, undefined while it does not exist. */
    private readonly partitionsOf: (topic: string) => number | undefined,
    /** Told after a rebalance (backpressure depends on which groups subscribe to what). */
    private readonly onRebalance: () => void,
  ) {}

  newMemberId(): number {
    return this.nextMemberId++;
  }

  /** Adds the member if new, then rebalances its group (its topics may have changed). */
  join(member: GroupMember): void {
    let members = this.groups.get(member.groupId);
    if (!members) {
      members = [];
      this.groups.set(member.groupId, members);
    }
    if (!members.includes(member)) members.push(member);
    this.rebalance(member.groupId);
  }

  leave(member: GroupMember): void {
    const members = this.groups.get(member.groupId);
    if (!members) return;
    const at = members.indexOf(member);
    if (at < 0) return;
    members.splice(at, 1);
    member.assign([]);
    if (members.length === 0) this.groups.delete(member.groupId);
    this.rebalance(member.groupId);
  }

  /** After a topic was created: members subscribed to it before it existed now get partitions. */
  topicCreated(topic: string): void {
    for (const [groupId, members] of this.groups) {
      if (members.some((member) => member.topics.has(topic))) this.rebalance(groupId);
    }
  }

  /** Groups with at least one member subscribed to `topic`. */
  subscribedGroups(topic: string): string[] {
    const ids: string[] = [];
    for (const [groupId, members] of this.groups) {
      if (members.some((member) => member.topics.has(topic))) ids.push(groupId);
    }
    return ids;
  }

  private rebalance(groupId: string): void {
    const members = this.groups.get(groupId) ?? [];
    const shares = new Map<GroupMember, TopicPartition[]>(members.map((member) => [member, []]));
    const topics = new Set<string>();
    for (const member of members) for (const topic of member.topics) topics.add(topic);
    for (const topic of [...topics].sort()) {
      const partitions = this.partitionsOf(topic);
      if (partitions === undefined) continue;
      const subscribers = members.filter((member) => member.topics.has(topic));
      const each = Math.floor(partitions / subscribers.length);
      const extra = partitions % subscribers.length;
      let next = 0;
      subscribers.forEach((member, i) => {
        const count = each + (i < extra ? 1 : 0);
        const share = shares.get(member)!;
        for (let p = next; p < next + count; p++) share.push({ topic, partition: p });
        next += count;
      });
    }
    for (const [member, share] of shares) member.assign(share);
    this.onRebalance();
  }
}
