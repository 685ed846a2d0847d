/**
 * Cache invalidation between server nodes over PostgreSQL LISTEN/NOTIFY.
 *
 * Invariants:
 * - a change is published after it commits; every node (this one included, synchronously) drops the
 *   named cache entries when the notification arrives;
 * - caches may serve entries only while the listener connection is up (`live`); when it drops,
 *   every cache is flushed and bypassed until the connection is back, so a missed notification can
 *   never leave a revoked token or an old policy in force;
 * - a reader that fetched from the database while an invalidation arrived must not cache what it
 *   read: it compares `generation` before and after (see TokenStore / PolicyStore).
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';

export const INVALIDATION_CHANNEL = 'secrethub_invalidate';

export type InvalidationTopic = 'token' | 'policy' | 'mounts' | 'audit' | 'engine-objects' | 'barrier' | 'transit';

/** `key` undefined: everything of that topic; `topic` undefined: every cache (connection lost). */
export interface Invalidation {
  topic?: InvalidationTopic;
  key?: string;
}

export class InvalidationBus {
  private client: Client | undefined;
  private handlers: ((i: Invalidation) => void)[] = [];
  private connected = false;
  private stopped = true;
  private retry: NodeJS.Timeout | undefined;
  /** Bumped on every invalidation received or published. */
  generation = 0;
  /** Marks this node's own notifications, already applied locally when published. */
  private readonly origin = randomUUID();

  constructor(
    private readonly url: string | undefined,
    private readonly db: DataSource,
    private readonly log: (message: string) => void,
  ) {}

  /** True while caches may serve: the listener is connected. */
  get live(): boolean {
    return this.connected;
  }

  subscribe(handler: (i: Invalidation) => void): void {
    this.handlers.push(handler);
  }

  async start(): Promise<void> {
    if (!this.url || !this.stopped) return;
    this.stopped = false;
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new Client({ connectionString: this.url, application_name: 'secrethub-listener' });
    client.on('notification', (msg) => {
      if (msg.channel !== INVALIDATION_CHANNEL || !msg.payload) return;
      try {
        const { origin, ...i } = JSON.parse(msg.payload) as Invalidation & { origin?: string };
        if (origin !== this.origin) this.deliver(i);
      } catch {
        this.deliver({});
      }
    });
    const lost = (why: string) => {
      if (client !== this.client) return;
      this.client = undefined;
      if (this.connected) this.log(`cache invalidation listener lost (${why}); caches bypassed until it is back`);
      this.connected = false;
      this.deliver({});
      client.end().catch(() => undefined);
      if (!this.stopped) this.retry = setTimeout(() => void this.connect(), 1000);
    };
    client.on('error', (e: Error) => lost(e.message));
    client.on('end', () => lost('connection ended'));
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${INVALIDATION_CHANNEL}`);
      // Anything cached before this point may have missed a notification.
      this.deliver({});
      this.connected = true;
    } catch (e) {
      lost((e as Error).message);
    }
  }

  private deliver(i: Invalidation): void {
    this.generation++;
    for (const h of this.handlers) h(i);
  }

  /** Drops the entries here at once, then tells every node. */
  async publish(topic: InvalidationTopic, key?: string): Promise<void> {
    const i: Invalidation = key === undefined ? { topic } : { topic, key };
    this.deliver(i);
    await this.db.query('SELECT pg_notify($1, $2)', [INVALIDATION_CHANNEL, JSON.stringify({ ...i, origin: this.origin })]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    this.connected = false;
    await client?.end().catch(() => undefined);
  }
}
