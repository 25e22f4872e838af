import { Writable } from 'node:stream';
import { main } from '../../pipelines/cli/main.js';

/** Keeps everything written to it, as text. */
class CollectedText extends Writable {
  text = '';

  constructor() {
    super({ decodeStrings: false });
  }

  override _write(chunk: string | Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.text += chunk.toString();
    done();
  }
}

const signals = ['SIGINT', 'SIGTERM'] as const;

/**
 * Runs a CLI command inside the test worker, through the same `main` that `bin/cityhub.js` calls, and returns what a
 * child process would have given: exit code, stdout, stderr. It saves the ~1–2 s of Node start and module load a
 * child costs, so use it for what needs no process of its own (help, usage and config errors, `config check`, a
 * `run` refused before it starts). Process behaviour (signals, another user, a real run, the bin wiring) stays with
 * `runCli` (hub-process.ts).
 *
 * As bin/cityhub.js does, an error `main` does not handle becomes exit code 1 with its stack on stderr. `env` is set
 * on process.env for the call and restored after.
 */
export async function runCliInProcess(args: string[], options: { env?: Record<string, string> } = {}) {
  const stdout = new CollectedText();
  const stderr = new CollectedText();
  const listenersBefore = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  const envBefore = Object.entries(options.env ?? {}).map(([key, value]) => {
    const previous = process.env[key];
    process.env[key] = value;
    return [key, previous] as const;
  });
  let code: number;
  try {
    code = await main(args, { stdout, stderr });
  } catch (error) {
    code = 1;
    stderr.text += `${error instanceof Error ? error.stack : String(error)}\n`;
  } finally {
    for (const [key, previous] of envBefore) {
      if (previous === undefined) delete process.env[key];
      else process.env[key] = previous;
    }
    // `run` installs its graceful-stop handlers; in a child they die with it, here they would outlive the call.
    for (const signal of signals)
      for (const listener of process.listeners(signal))
        if (!listenersBefore.get(signal)!.has(listener)) process.off(signal, listener);
  }
  return { code, stdout: stdout.text, stderr: stderr.text };
}
