import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Which process claimed a due lease for revocation (issue 30): another process takes the claim over
 * once the claimer's node-registry heartbeat is older than the lease TTL, instead of waiting out the
 * claim's 60 s (a process killed mid-revocation no longer delays expiry by a minute).
 */
export class LeaseClaims1734130000000 implements MigrationInterface {
  name = 'LeaseClaims1734130000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE leases ADD COLUMN claimed_node_id text, ADD COLUMN claimed_worker_id integer');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE leases DROP COLUMN claimed_node_id, DROP COLUMN claimed_worker_id');
  }
}
