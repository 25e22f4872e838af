/**
 * The consumer-group half of the test broker: FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
 * OffsetCommit and OffsetFetch, served by one GroupCoordinator. The server registers them as `extraHandlers`.
 */
import type { ApiHandler } from '../api.js';
import type { GroupCoordinator } from './coordinator.js';
import { type CoordinatorNode, findCoordinatorHandler } from './find-coordinator.js';
import { heartbeatHandler } from './heartbeat.js';
import { joinGroupHandler } from './join-group.js';
import { leaveGroupHandler } from './leave-group.js';
import { offsetCommitHandler } from './offset-commit.js';
import { offsetFetchHandler } from './offset-fetch.js';
import { syncGroupHandler } from './sync-group.js';

export { GroupCoordinator, type GroupCoordinatorOptions } from './coordinator.js';
export { type GroupTimers, ManualTimers } from './timers.js';

export function groupHandlers(coordinator: GroupCoordinator, broker: CoordinatorNode): ApiHandler[] {
  return [
    findCoordinatorHandler(broker),
    joinGroupHandler(coordinator),
    syncGroupHandler(coordinator),
    heartbeatHandler(coordinator),
    leaveGroupHandler(coordinator),
    offsetCommitHandler(coordinator),
    offsetFetchHandler(coordinator),
  ];
}
