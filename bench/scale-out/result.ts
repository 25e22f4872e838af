/** What one measured run of the scale-out bench reports (a child process prints it as one JSON line). */
import { z } from 'zod';

/** The three paths compared: where the bus is and where the lake is. */
export const benchPaths = ['embedded', 'kafka', 'kafka-s3'] as const;
export const benchPath = z.enum(benchPaths);
export type BenchPath = z.infer<typeof benchPath>;

export const pathLabels: Record<BenchPath, string> = {
  embedded: '(a) embedded bus (fsync always) + local lake',
  kafka: '(b) kafkajs + test broker + local lake',
  'kafka-s3': '(c) kafkajs + test broker + S3 lake (s3rver)',
};

export const runResultSchema = z.object({
  path: benchPath,
  records: z.number().int(),
  /** From the first send to the last send acknowledged. */
  produceSeconds: z.number(),
  /** From the first send until worker.drain() resolved: every record in a committed Parquet file. */
  drainedSeconds: z.number(),
  flushes: z.number().int(),
  /** Sum of Lander.flush() durations (Parquet encoding, staging, journal, store commit); they overlap reading. */
  flushSeconds: z.number(),
  /** Of the flushes: LakeStore.commit() (the uploads, for S3; fsync + rename locally). */
  storeCommitSeconds: z.number(),
  /** Of the flushes: the flush journal written before each commit (LakeStore.writeSmall). */
  journalSeconds: z.number(),
  /** After each flush: committing the bus offsets (consumer.commit + lander.committed). */
  offsetCommitSeconds: z.number(),
  /** process.cpuUsage() of the pipeline process over the timed window (user + system, DuckDB's threads included). */
  cpuSeconds: z.number(),
  /** CPU time the whole machine spent busy over the timed window (os.cpus(), every process), and its core count. */
  machineBusySeconds: z.number(),
  cores: z.number().int(),
  peakRssMiB: z.number(),
  /** With --profile: seconds of main-thread samples per code bucket over the timed window (cpu-profile.ts). */
  profile: z.record(z.string(), z.number()).optional(),
});
export type RunResult = z.infer<typeof runResultSchema>;
