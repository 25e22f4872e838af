/** `cityhub bus verify|repair`: the operator's tools for a damaged embedded log (docs/bus.md). */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { repairPartition } from '../bus/embedded/repair.js';
import { type LogFinding, verifyLog } from '../bus/embedded/verify.js';
import { loadConfig } from '../config/load.js';
import { NotAvailableError, UsageError } from '../errors.js';

export async function commandBus(args: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { config: { type: 'string' }, partition: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const action = positionals[0];
  if (positionals.length !== 1 || (action !== 'verify' && action !== 'repair')) {
    throw new UsageError('expected `cityhub bus verify` or `cityhub bus repair --partition TOPIC/N`');
  }
  const loaded = loadConfig(values.config);
  if (loaded.config.bus.type !== 'embedded') {
    throw new NotAvailableError(
      `bus ${action} checks the embedded bus; this config uses bus.type ${loaded.config.bus.type}`,
    );
  }
  const busDir = loaded.paths.busDir;
  if (!fs.existsSync(busDir)) throw new UsageError(`no embedded bus at ${busDir}`);
  return action === 'verify' ? verify(busDir, out) : repair(busDir, values.partition, out);
}

async function verify(busDir: string, out: (line: string) => void): Promise<number> {
  const { partitions, segments, findings } = await verifyLog(busDir);
  const problems = findings.filter((f) => f.kind !== 'torn-tail');
  for (const finding of findings) out(describe(finding));
  out(
    `bus ${busDir}: ${partitions} partition(s), ${segments} segment(s) checked, ${problems.length} problem(s)` +
      (problems.length > 0 ? '; see docs/bus.md' : ''),
  );
  return problems.length > 0 ? 1 : 0;
}

function describe(finding: LogFinding): string {
  const where = `${finding.file}: byte ${finding.position}: ${finding.reason}`;
  const partition = `${finding.topic}/${finding.partition}`;
  if (finding.kind === 'torn-tail') {
    return `note: ${where}; a torn tail (nothing sound follows): opening the bus truncates it, nothing acknowledged is in it`;
  }
  const offsets =
    finding.kind === 'missing'
      ? `offsets ${finding.firstOffset} to the next segment's base are missing`
      : finding.lastSoundOffset === undefined
        ? `offsets from ${finding.firstOffset} affected`
        : `offsets ${finding.firstOffset}..${finding.lastSoundOffset} affected (${finding.soundFramesAfter} sound frame(s) after the damage)`;
  return `${where}; ${offsets}; repair: cityhub bus repair --partition ${partition}`;
}

async function repair(busDir: string, target: string | undefined, out: (line: string) => void): Promise<number> {
  const match = target === undefined ? null : /^(.+)\/(\d+)$/.exec(target);
  if (!match) throw new UsageError(`--partition TOPIC/N is required (got ${target ?? 'nothing'})`);
  const [, topic, partition] = match;
  const result = await repairPartition(busDir, topic!, Number(partition));
  if (!result) {
    out(`${target}: nothing to repair`);
    return 0;
  }
  out(`${target}: repaired ${describe(result.finding).replace(/; repair: .*$/, '')}`);
  if (result.quarantine) {
    out(`  moved ${result.movedBytes} bytes (${result.soundFramesMoved} sound frame(s)) to ${result.quarantine}`);
  }
  out(`  offsets ${result.from}..${result.to - 1} are now a recorded gap; the next append gets offset ${result.to}`);
  out('  run `cityhub bus verify` again: other partitions or later damage may need the same');
  return 0;
}
