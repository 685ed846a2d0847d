import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Audit partitions keep rows up to a page inline and uncompressed (toast_tuple_target 8160, as new
 * partitions are created; decision 89). Applies to the rows written from now on; stored rows stay as
 * they are. Storage parameters do not change what a row holds, so the chain is unaffected.
 */
export class AuditInlineRows1733900000000 implements MigrationInterface {
  name = 'AuditInlineRows1733900000000';

  async up(q: QueryRunner): Promise<void> {
    await this.set(q, 'toast_tuple_target = 8160');
  }

  async down(q: QueryRunner): Promise<void> {
    await this.set(q, null);
  }

  private async set(q: QueryRunner, option: string | null): Promise<void> {
    const partitions: { name: string }[] = await q.query(
      "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_logs'::regclass",
    );
    for (const { name } of partitions) await q.query(option ? `ALTER TABLE "${name}" SET (${option})` : `ALTER TABLE "${name}" RESET (toast_tuple_target)`);
  }
}
