import type { Logger } from 'pino';
import { BusSender } from './send.js';
import type { ConnectorContext, ConnectorHealth } from './types.js';

/**
 * The bookkeeping every connector's lifecycle needs (connectors/types.ts): its state, the `done` promise, the signal
 * that cuts a wait short on stop(), and health built from its BusSender. A connector owns one and runs its read loop
 * through it.
 */
export class ConnectorLifecycle {
  state: ConnectorHealth['state'] = 'stopped';
  /** Set by stop(): a loop checks it between reads. */
  stopping = false;
  /** The connector's sends, once started: counts and retry state for health(). */
  sender: BusSender | undefined;
  /** Aborted by stop(): ends a poll wait or a backoff wait at once. */
  readonly stopWaiting = new AbortController();
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private rejectDone!: (error: unknown) => void;
  private error: string | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly id: string,
    private readonly kind: string,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // A failure is reported through health() and done; nobody awaiting done must not crash the process.
    this.done.catch(() => {});
  }

  /**
   * Runs the connector's read loop. Its end resolves `done`; its failure marks the connector failed, naming the send
   * failure that was being retried when it gave up, unless `normalEnd` says the error is an ordinary stop.
   */
  run(log: Logger, loop: () => Promise<void>, normalEnd: (error: unknown) => boolean = () => false): void {
    this.state = 'running';
    this.loop = loop().then(
      () => this.end(),
      (error: unknown) => {
        if (normalEnd(error)) {
          this.end();
          return;
        }
        this.state = 'failed';
        this.error = error instanceof Error ? error.message : String(error);
        if (this.sender?.health.error) this.error += `; last failure: ${this.sender.health.error}`;
        log.error({ err: error, connector: this.id }, `${this.kind} connector failed`);
        this.rejectDone(error);
      },
    );
  }

  /**
   * The connector's send path (connectors/send.ts) over the context's producer, with the context's retry policy and a
   * backoff that stop() cuts short; it feeds health(). `connector` names the sender (default: the connector id).
   */
  openSender(context: ConnectorContext, connector: string = this.id): BusSender {
    const sender = new BusSender({
      connector,
      producer: context.producer,
      signal: this.stopWaiting.signal,
      log: context.log,
      ...(context.retryPolicy ? { policy: context.retryPolicy } : {}),
    });
    this.sender ??= sender;
    return sender;
  }

  /** Ends reading: cuts any wait short (`wake` ends the connector's own timer), then waits for the loop to finish. */
  async stop(wake?: () => void): Promise<void> {
    this.stopping = true;
    if (this.state === 'running') this.state = 'stopping';
    this.stopWaiting.abort();
    wake?.();
    await this.loop?.catch(() => {});
  }

  health(): ConnectorHealth {
    const sends = this.sender?.health;
    const error = this.error ?? sends?.error;
    return {
      state: this.state,
      sent: { ...this.sender?.sent },
      dead_lettered: { ...this.sender?.deadLettered },
      bytes_sent: { ...this.sender?.bytesSent },
      retries: sends?.retries ?? 0,
      ...(error ? { error } : {}),
      ...(sends?.last_error_at ? { last_error_at: sends.last_error_at } : {}),
      ...(sends?.last_success_at ? { last_success_at: sends.last_success_at } : {}),
    };
  }

  private end(): void {
    this.state = 'stopped';
    this.resolveDone();
  }
}
