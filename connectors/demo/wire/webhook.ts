/** The city's video-AI platform: each alert (each status update) one signed webhook POST to the hub. */
import { createHmac } from 'node:crypto';
import type { DemoWireConfig } from '../config.js';
import type { RawMessage } from '../types.js';
import { postUntilSettled } from './post.js';

type WebhookConfig = NonNullable<DemoWireConfig['video_webhook']>;

export class WebhookSender {
  /** Requests the hub settled: 202, or 400 for a body it dead-lettered. */
  settled = 0;

  constructor(
    private readonly config: WebhookConfig,
    private readonly signal: AbortSignal,
  ) {}

  /** Sends every alert, `concurrency` at a time; resolves when the hub has settled each one. */
  async send(messages: readonly RawMessage[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < messages.length) {
        const message = messages[next++]!;
        await this.post(Buffer.from(message.value, 'utf8'));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.config.concurrency, messages.length) }, worker));
  }

  private async post(body: Buffer): Promise<void> {
    const { secret, key_id: keyId } = this.config;
    await postUntilSettled({
      url: this.config.url,
      body,
      signal: this.signal,
      headers: () => {
        // The signing scheme of http-ingest's video-webhook sources: HMAC-SHA256 over `<timestamp>.<body>`.
        const timestamp = String(Math.floor(Date.now() / 1000));
        const digest = createHmac('sha256', secret).update(timestamp).update('.').update(body).digest('hex');
        return {
          'content-type': 'application/json',
          'x-timestamp': timestamp,
          'x-key-id': keyId,
          'x-signature': `sha256=${digest}`,
        };
      },
    });
    this.settled++;
  }
}
