import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Audit retention: where the log has been pruned to. Entries 1..pruned_through are gone (their
 * monthly partitions dropped); the chain hash and Merkle frontier after entry pruned_through are
 * what a verifier starts from, and a signed prune record in the chain itself says the same.
 * Updated in the transaction that drops the partitions, never by the append statement.
 */
export class AuditRetention1732950000000 implements MigrationInterface {
  name = 'AuditRetention1732950000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_chain_head
      ADD COLUMN pruned_through bigint NOT NULL DEFAULT 0,
      ADD COLUMN pruned_chain_hash bytea NULL,
      ADD COLUMN pruned_frontier bytea[] NOT NULL DEFAULT '{}'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE audit_chain_head DROP COLUMN pruned_through, DROP COLUMN pruned_chain_hash, DROP COLUMN pruned_frontier');
  }
}
