/**
 * Scale-out bench (issue 9): end-to-end records/s of sensor readings, from the first bus send until every record is
 * in a committed Parquet file, through three paths measured in the same run, in rounds (each path once per round, the
 * order rotating; each run its own process):
 *   (a) embedded bus (fsync always) + local lake — the reference;
 *   (b) KafkaBus (kafkajs) + the Kafka-protocol test broker (its own process) + local lake;
 *   (c) as (b), the lake in S3 (S3LakeStore against s3rver, its own process).
 * And where the time goes: producing vs draining, flushes, store commits (S3 uploads), offset commits, the CPU time of
 * the pipeline process, of the broker and of the whole machine over the timed window.
 * Usage: npm run build && node dist/bench/scale-out.bench.js [--records N] [--runs K] [--burners B] [--profile]
 *   --records  sensor records per run (default 200000)   --runs  rounds (default 3)
 *   --burners  `yes > /dev/null` processes running beside the whole bench, to take cores away (default 0)
 *   --profile  sample the pipeline processes' main thread and say which code its CPU went to (slows every path:
 *              read its rates as profiled rates)
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startS3rver } from '../connectors/dept-files/s3rver-peer.js';
import { threadpoolPreload } from '../pipelines/package-root.js';
import { benchArgs } from './bench-args.js';
import { startBroker, startBurners } from './scale-out/peers.js';
import { pipelineRun } from './scale-out/pipeline-run.js';
import { type MeasuredRun, runLine, summary } from './scale-out/report.js';
import { type BenchPath, benchPath, benchPaths, runResultSchema } from './scale-out/result.js';
import { averagePayloadBytes, sensorPayloads } from './sensor-payloads.js';

const USAGE = `Usage: npm run bench:scale-out -- [--records N] [--runs K] [--burners B] [--profile]
  --records N  sensor records per run (default 200000)     --runs K  rounds (default 3)
  --burners B  \`yes > /dev/null\` processes beside the whole bench, to take cores away (default 0)
  --profile    sample the pipeline processes' main thread and say which code its CPU went to`;
const values = benchArgs(
  {
    records: { type: 'string', default: '200000' },
    runs: { type: 'string', default: '3' },
    burners: { type: 'string', default: '0' },
    profile: { type: 'boolean', default: false },
    // Set by the parent for a measured run's process.
    child: { type: 'string' },
    broker: { type: 'string' },
    'broker-pid': { type: 'string' },
    's3-endpoint': { type: 'string' },
  },
  USAGE,
);
const records = Number(values.records);
const BUCKET = 'bench-lake';

/** Runs one path in a process of its own; resolves with what it printed. */
function runChild(args: string[]): Promise<string> {
  const proc = spawn(process.execPath, [...threadpoolPreload(), fileURLToPath(import.meta.url), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    // The AWS SDK's notice that its 2027 releases need Node 22 would interleave with every S3 run's lines.
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  let stdout = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('close', (code, signal) =>
      code === 0 ? resolve(stdout) : reject(new Error(`the ${args[1]} run failed (exit ${code ?? signal})`)),
    );
  });
}

/** One path, its peers started for it alone (a fresh broker and bucket each run) and stopped after. */
async function measure(path: BenchPath, round: number): Promise<MeasuredRun> {
  const broker = path === 'embedded' ? undefined : await startBroker();
  const s3 =
    path === 'kafka-s3'
      ? await startS3rver([BUCKET]).catch(async (error: unknown) => {
          await broker?.close().catch(() => {});
          throw error;
        })
      : undefined;
  try {
    const args = ['--child', path, '--records', String(records)];
    if (values.profile) args.push('--profile');
    if (broker) args.push('--broker', broker.address, '--broker-pid', String(broker.pid));
    if (s3) args.push('--s3-endpoint', s3.endpoint);
    const result = runResultSchema.parse(JSON.parse(await runChild(args)));
    const brokerCpuSeconds = broker ? await broker.close() : undefined;
    return { ...result, round, brokerCpuSeconds };
  } finally {
    // Both close at most once: a second close finds the process gone.
    await broker?.close().catch(() => {});
    await s3?.close();
  }
}

if (values.child) {
  const path = benchPath.parse(values.child);
  try {
    const result = await pipelineRun({
      path,
      payloads: sensorPayloads(records),
      profile: values.profile,
      ...(values.broker ? { broker: values.broker } : {}),
      ...(values['broker-pid'] ? { brokerPid: Number(values['broker-pid']) } : {}),
      ...(values['s3-endpoint'] ? { s3: { endpoint: values['s3-endpoint'], bucket: BUCKET } } : {}),
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } catch (error) {
    console.error(error);
    process.exitCode = 1;
  }
} else {
  const runs = Number(values.runs);
  const burnerCount = Number(values.burners);
  console.log(
    `sensor readings: ${records.toLocaleString('en')} records, ${averagePayloadBytes(sensorPayloads(1000)).toFixed(0)} B average payload, ${runs} rounds, ${cpus().length} cores (load average ${loadavg()[0]!.toFixed(1)} before), ${burnerCount} burners beside`,
  );
  const burners = startBurners(burnerCount);
  try {
    const measured: MeasuredRun[] = [];
    for (let round = 0; round < runs; round++) {
      console.log(`round ${round + 1}:`);
      // The order rotates, so no path always runs first (cold caches) or last (a warm machine).
      for (let i = 0; i < benchPaths.length; i++) {
        const run = await measure(benchPaths[(round + i) % benchPaths.length]!, round);
        measured.push(run);
        console.log(runLine(run));
      }
    }
    console.log(`\nmedians over ${runs} rounds (shares are of the drained wall time):`);
    console.log(summary(measured));
  } finally {
    burners.stop();
  }
}
