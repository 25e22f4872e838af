/**
 * Which segments retention may delete. Only whole sealed segments, oldest first, and only those entirely below
 * `protectFrom` (the lowest offset some group still needs): retention frees disk, it never drops unconsumed data.
 */
export interface RetentionCandidate {
  /** Offset after the segment's last record. */
  nextOffset: number;
  size: number;
  /** Newest record timestamp in the segment. */
  maxTimestamp: number;
}

export interface RetentionPolicy {
  /** 0 = no age limit. */
  retentionMs: number;
  /** 0 = no size limit. */
  retentionBytes: number;
}

/**
 * Number of leading `sealed` segments to delete. A segment goes when it is below `protectFrom` and either its
 * newest record is older than retentionMs or the partition (`partitionBytes`, all segments) is still larger than
 * retentionBytes. Stops at the first segment that must stay, so the log remains contiguous.
 */
export function segmentsToDelete(
  sealed: readonly RetentionCandidate[],
  partitionBytes: number,
  protectFrom: number,
  policy: RetentionPolicy,
  now: number,
): number {
  let remaining = partitionBytes;
  let count = 0;
  for (const segment of sealed) {
    if (segment.nextOffset > protectFrom) break;
    const expired = policy.retentionMs > 0 && segment.maxTimestamp < now - policy.retentionMs;
    const oversized = policy.retentionBytes > 0 && remaining > policy.retentionBytes;
    if (!expired && !oversized) break;
    remaining -= segment.size;
    count++;
  }
  return count;
}
