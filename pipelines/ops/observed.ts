/** One reading of a hub process's live objects, from which both /metrics and the status are made. */
import type { ConnectorHealth } from '../../connectors/types.js';
import type { LandingStats } from '../land/lander.js';
import type { PartitionLag, WorkerHealth } from '../pipeline/worker.js';
import type { ReasonCounts } from './dead-letter-window.js';
import type { MemberHealth } from './hub-status.js';

export interface Observed {
  now: number;
  connectors: { id: string; kind: string; health: ConnectorHealth }[];
  /** Present in a process running the pipeline role. */
  landing?: { stats: LandingStats; reasons: ReasonCounts; worker: WorkerHealth };
  /** The partitions this process lands (empty without the pipeline role). */
  lag: PartitionLag[];
  /** Member hubs, in a process running the models role of a province or national hub. */
  members: MemberHealth[];
}
