/**
 * The scale-out bench stays runnable: a small run of every path (embedded, kafkajs + test broker, + s3rver) lands
 * every record (the bench throws otherwise) and prints the comparison. Drives dist/, as `npm test` builds it first.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const entry = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bench', 'scale-out.bench.js');

/** Runs the bench in a process group of its own, so its broker, s3rver and run processes go with it on a timeout. */
function runBench(args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  const proc = spawn(process.execPath, [entry, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const timer = setTimeout(() => process.kill(-proc.pid!, 'SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    proc.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}

it('lands every record through each path and compares the kafka paths with the embedded one', async () => {
  const { code, output } = await runBench(['--records', '3000', '--runs', '1', '--profile'], 150_000);
  expect(code, output).toBe(0);
  for (const path of ['embedded', 'kafka', 'kafka-s3'])
    expect(output).toMatch(new RegExp(`^${path} +\\| +\\d+ +\\|`, 'm'));
  expect(output).toMatch(/^kafka\/embedded records\/s: \d+\.\d{3}/m);
  expect(output).toMatch(/^kafka-s3\/embedded records\/s: \d+\.\d{3}/m);
  // The broker ran in its own process and reported its CPU time for the window.
  expect(output).toMatch(/^kafka +\|.*\| \d+\.\d\d s \(\d+%\) +\|/m);
  // Profiled: the kafka path's main thread spent time in kafkajs.
  expect(output).toMatch(/^ {2}kafka +.*kafkajs \d+%/m);
});
