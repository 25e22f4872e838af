/**
 * The build thread's entry (build-thread.ts starts it): builds each requested marts file with buildIntoFile, the
 * same function as a build in the caller's thread, and reports progress, the outcome or the error.
 */
import { parentPort } from 'node:worker_threads';
import { type BuildThreadMessage, type ProgressEvent, transferError } from './build-thread.js';
import { loadProject } from './project.js';
import { type BuildIntoFileRequest, buildIntoFile, removeDatabase } from './run.js';

const port = parentPort;
if (port === null) throw new Error('build-worker.js runs as a worker thread (models/build-thread.ts starts it)');
const send = (message: BuildThreadMessage) => port.postMessage(message);

/** The builds in progress, each cut short by a stop (build-thread.ts `stop`). */
const inProgress = new Set<AbortController>();

port.on('message', async (message: { type: 'build'; id: number; request: BuildIntoFileRequest } | { type: 'stop' }) => {
  if (message.type === 'stop') {
    for (const controller of inProgress) controller.abort();
    return;
  }
  const { id, request } = message;
  const controller = new AbortController();
  inProgress.add(controller);
  try {
    const project = await loadProject(request.sqlDir);
    const onProgress = (event: ProgressEvent) => send({ type: 'progress', id, event });
    const outcome = await buildIntoFile(request, project, onProgress, controller.signal);
    send({ type: 'done', id, outcome });
  } catch (error) {
    // Removed here, before the caller hears of the failure (it removes it too): a process that exits as soon as its
    // build threads are stopped (stopBuildThreads, a second Ctrl-C) must leave no building file behind.
    await removeDatabase(request.buildingPath).catch(() => undefined);
    send({ type: 'failed', id, error: transferError(error) });
  } finally {
    inProgress.delete(controller);
  }
});
