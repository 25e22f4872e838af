/**
 * Where the pipeline process's main thread spends its CPU over the timed window, from V8's sampling profiler (in
 * process, through node:inspector): self time summed by the code it ran in — an npm package, a folder of ours, node's
 * internals, V8 builtins and node bindings, the garbage collector, or "program" (native work V8 cannot attribute:
 * DuckDB calls and other work outside JavaScript on the main thread). Other threads (DuckDB's, libuv's pool) are not
 * sampled.
 */
import { Session } from 'node:inspector/promises';

/** The bucket a function's self time goes to. */
export function codeOf(functionName: string, url: string): string {
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC';
    // "(program)", "(idle)", "(root)"; any other function without a script is a V8 builtin or a node binding.
    return functionName.startsWith('(') ? functionName.slice(1, -1) : 'builtins and bindings';
  }
  if (url.startsWith('node:')) return 'node internals';
  const module = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (module) return module[1]!;
  const ours = /\/dist\/((?:pipelines|connectors)\/[^/.]+|bench|schemas)/.exec(url);
  return ours ? ours[1]! : 'other';
}

export interface Profiler {
  /** Stops sampling; seconds of samples per bucket (sample intervals: wall time of the main thread), idle left out. */
  stop(): Promise<Record<string, number>>;
}

export async function startProfiler(): Promise<Profiler> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      const bucketOf = new Map(profile.nodes.map((n) => [n.id, codeOf(n.callFrame.functionName, n.callFrame.url)]));
      const seconds: Record<string, number> = {};
      const deltas = profile.timeDeltas ?? [];
      (profile.samples ?? []).forEach((id, i) => {
        const bucket = bucketOf.get(id) ?? 'other';
        if (bucket !== 'idle') seconds[bucket] = (seconds[bucket] ?? 0) + (deltas[i] ?? 0) / 1e6;
      });
      return seconds;
    },
  };
}
