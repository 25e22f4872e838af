import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { ProduceMessage } from '../../pipelines/bus/types.js';
import type { RefusedMessage } from '../send.js';
import type { DeadLetterRequest, GroupAppender } from './appender.js';
import type { HttpIngestConnectorConfig } from './config.js';
import { bulkFormatOf, splitRecords, UnparsableBodyError } from './records.js';
import type { SignatureAccepted } from './signature.js';
import type { IngestSource } from './source.js';

export interface AppOptions {
  config: HttpIngestConnectorConfig;
  sources: readonly IngestSource[];
  appender: GroupAppender;
  log?: Logger;
  /** The connector's state for `/healthz`. */
  state: () => string;
}

const EMPTY = Buffer.alloc(0);

/**
 * The listener's routes: one POST route per source at its path, `/healthz`. Separate from listen() so tests drive it
 * with inject(). Every body arrives as raw bytes (the signature is over them, and they go to the bus as they are).
 */
export function buildApp(options: AppOptions): FastifyInstance {
  const { config } = options;
  const app = Fastify({
    logger: false,
    bodyLimit: config.body_limit_bytes,
    // Request ids name a rejected body's dead letter: unique across restarts.
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    return503OnClosing: true,
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.setErrorHandler((error: { statusCode?: number; message: string }, _request, reply) => {
    // fastify's own refusals (body over the limit: 413, a broken Content-Length: 400) keep their status.
    const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    if (status === 500) options.log?.error({ err: error }, 'http-ingest request failed');
    void reply.code(status).send({ reason: error.message });
  });

  // A keep-alive connection whose request was in flight at stop() closes after its response: close() waits for it.
  app.addHook('onSend', async (_request, reply) => {
    if (options.state() !== 'running') void reply.header('connection', 'close');
  });

  app.get('/healthz', async (_request, reply) => {
    const state = options.state();
    const sources = Object.fromEntries(options.sources.map((s) => [s.id, s.report()]));
    return reply.code(state === 'running' ? 200 : 503).send({ state, sources });
  });

  for (const source of options.sources) {
    app.post(source.config.path, {
      bodyLimit: source.config.body_limit_bytes ?? config.body_limit_bytes,
      // Refused before the body is read: a disabled source or a sender past its rate costs no upload.
      onRequest: async (_request, reply) => {
        source.stats.requests++;
        if (!source.config.enabled) return refuse(reply, 403, 'source disabled');
        const waitS = source.bucket?.take() ?? 0;
        if (waitS > 0) {
          void reply.header('retry-after', String(waitS));
          return refuse(reply, 429, `rate limit of source ${source.id} exceeded`);
        }
        return undefined;
      },
      onResponse: async (_request, reply) => source.countResponse(reply.statusCode),
      handler: (request, reply) => handle(source, request, reply, options),
    });
  }
  return app;
}

async function handle(
  source: IngestSource,
  request: FastifyRequest,
  reply: FastifyReply,
  { appender, config, log }: AppOptions,
): Promise<FastifyReply> {
  const body = (request.body as Buffer | undefined) ?? EMPTY;
  let signed: SignatureAccepted | undefined;
  if (source.verifier) {
    const verdict = source.verifier.verify(request.headers, body);
    if ('status' in verdict) return refuse(reply, verdict.status, verdict.reason);
    signed = verdict;
    if (!source.evictionsWarned && source.verifier.replayCacheEvictions > 0) {
      source.evictionsWarned = true;
      log?.warn(
        { source: source.id, replay_cache_entries: source.config.signature?.replay_cache_entries },
        'http-ingest replay cache full: signatures are forgotten before their window ends (raise replay_cache_entries)',
      );
    }
  }
  const feed = source.config.feed;
  const ref = `${source.config.path} ${request.id}`;
  try {
    let answer: { status: number; body: unknown };
    if (source.config.kind === 'video-webhook') {
      const problem = jsonProblem(body);
      if (problem === undefined) {
        const [refused] = await appender.append(source.id, feed, [{ key: null, value: body }], []);
        if (refused === undefined) {
          source.stats.records++;
          answer = { status: 202, body: { accepted: 1 } };
        } else {
          // Kept as a dead letter (the bus's message limit is below the body limit): re-sending cannot help.
          source.stats.rejected_records++;
          answer = { status: 202, body: { accepted: 0, rejected: [rejectionOf(0, refused)] } };
        }
      } else answer = await deadLetterBody(source, appender, body, problem, ref);
    } else {
      const format = bulkFormatOf(request.headers['content-type']);
      if (format === undefined) {
        if (signed) source.verifier?.forget(signed);
        return refuse(reply, 415, 'expected Content-Type application/json or application/x-ndjson');
      }
      answer = await appendBulk(source, appender, body, format, ref);
    }
    if (signed) source.verifier?.remember(signed);
    return reply.code(answer.status).send(answer.body);
  } catch (error) {
    // Nothing of the request is acknowledged (a refused bus send is refused whole): the sender may retry it as is.
    if (signed) source.verifier?.forget(signed);
    void reply.header('retry-after', String(config.retry_after_s));
    const why = error instanceof Error ? error.message : String(error);
    return refuse(reply, 503, `the bus did not take the request; nothing was accepted: ${why}`);
  }
}

async function appendBulk(
  source: IngestSource,
  appender: GroupAppender,
  body: Buffer,
  format: 'json' | 'ndjson',
  ref: string,
): Promise<{ status: number; body: unknown }> {
  let split: ReturnType<typeof splitRecords>;
  try {
    split = splitRecords(body, format);
  } catch (error) {
    if (!(error instanceof UnparsableBodyError)) throw error;
    return deadLetterBody(source, appender, body, error.detail, ref);
  }
  const messages: ProduceMessage[] = split.records.map((value) => ({ key: null, value }));
  const deadLetters: DeadLetterRequest[] = split.rejects.map((r) => ({
    message: { key: null, value: r.raw },
    reason: r.reason,
    explanation: r.detail,
    sourceRef: `${ref} #${r.index}`,
  }));
  const refused = await appender.append(source.id, source.config.feed, messages, deadLetters);
  const accepted = messages.length - refused.length;
  source.stats.records += accepted;
  source.stats.rejected_records += deadLetters.length + refused.length;
  const rejected: Rejection[] = split.rejects.map((r) => ({ index: r.index, reason: r.reason, detail: r.detail }));
  if (refused.length > 0) {
    // Records the bus refused (over its message limit) went to dlq.<feed> too: the sender is told which, by index.
    for (const r of refused) rejected.push(rejectionOf(split.indexes[r.index]!, r));
    rejected.sort((a, b) => a.index - b.index);
  }
  return { status: 202, body: { accepted, rejected } };
}

/** One entry of a 202's `rejected`: a record that went to `dlq.<feed>` instead of `raw.<feed>`. */
interface Rejection {
  /** Position in the body: array index or NDJSON line (webhook: 0). */
  index: number;
  reason: string;
  detail: string;
}

function rejectionOf(index: number, refused: RefusedMessage): Rejection {
  return { index, reason: refused.reason, detail: refused.explanation };
}

/** A signed (or trusted) sender's body that is not JSON: kept as a connector dead letter, then answered 400. */
async function deadLetterBody(
  source: IngestSource,
  appender: GroupAppender,
  body: Buffer,
  problem: string,
  ref: string,
): Promise<{ status: number; body: unknown }> {
  const letter = { message: { key: null, value: body }, reason: 'not_json', explanation: problem, sourceRef: ref };
  await appender.append(source.id, source.config.feed, [], [letter]);
  source.stats.rejected_records++;
  return { status: 400, body: { reason: `body is not JSON: ${problem}`, dead_lettered: true } };
}

function jsonProblem(body: Buffer): string | undefined {
  try {
    JSON.parse(body.toString('utf8'));
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function refuse(reply: FastifyReply, status: number, reason: string): FastifyReply {
  return reply.code(status).send({ reason });
}
