/**
 * Work the server does by itself (an automatic key rotation) is audited like a request. The kernel
 * holds this port; the request pipeline, the one writer of audit entries, attaches to it at start.
 *
 * Invariants: an event is recorded after the change it reports has committed; with no pipeline
 * attached (tests that run an engine alone) events are dropped, never queued.
 */
import type { Operation } from '../framework/route';

export interface SystemAuditEvent {
  /** The mount the work was on, by uuid. */
  mountUuid: string;
  /** The path under the mount, as a request for the same work would have it (`keys/orders/rotate`). */
  path: string;
  operation: Operation;
  /** What the work was given and decided (no secrets: entries are HMAC'd as a request's). */
  data?: Record<string, unknown>;
  response?: Record<string, unknown>;
}

export class SystemAudit {
  private sink: ((event: SystemAuditEvent) => Promise<void>) | undefined;

  attach(sink: (event: SystemAuditEvent) => Promise<void>): void {
    this.sink = sink;
  }

  async record(event: SystemAuditEvent): Promise<void> {
    await this.sink?.(event);
  }
}
