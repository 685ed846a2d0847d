/** Storage of the keyring and its per-term usage counters. */
import type { DataSource, EntityManager } from 'typeorm';
import type { RotationConfig } from './rotation-config';

export interface StoredKeyring {
  activeTerm: number;
  ciphertext: Buffer;
}

export class BarrierRepository {
  constructor(private readonly dataSource: DataSource) {}

  async load(): Promise<StoredKeyring | undefined> {
    const rows: { active_term: number; keyring_ciphertext: Buffer }[] = await this.dataSource.query(
      'SELECT active_term, keyring_ciphertext FROM barrier_keyring WHERE id = 1',
    );
    return rows[0] ? { activeTerm: rows[0].active_term, ciphertext: rows[0].keyring_ciphertext } : undefined;
  }

  async encryptionsFor(term: number): Promise<number> {
    const rows: { encryptions: string }[] = await this.dataSource.query('SELECT encryptions FROM barrier_term_usage WHERE term = $1', [term]);
    return rows[0] ? Number(rows[0].encryptions) : 0;
  }

  /** Writes the first keyring; part of the init transaction. */
  async insertInitial(manager: EntityManager, ciphertext: Buffer, installedAt: Date): Promise<void> {
    await manager.query('INSERT INTO barrier_keyring (id, active_term, keyring_ciphertext) VALUES (1, 1, $1)', [ciphertext]);
    await manager.query('INSERT INTO barrier_term_usage (term, installed_at, encryptions) VALUES (1, $1, 0)', [installedAt]);
  }

  /**
   * Installs a rotated keyring in one transaction. The row lock serialises rotations across nodes;
   * `expectedActiveTerm` refuses a rotation based on a stale keyring.
   */
  async saveRotation(expectedActiveTerm: number, ciphertext: Buffer, newTerm: number, installedAt: Date, oldTermEncryptions: number): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const rows: { active_term: number }[] = await m.query('SELECT active_term FROM barrier_keyring WHERE id = 1 FOR UPDATE');
      if (rows[0]?.active_term !== expectedActiveTerm) throw new Error('keyring changed concurrently; reload before rotating');
      await m.query('UPDATE barrier_keyring SET active_term = $1, keyring_ciphertext = $2, updated_at = now() WHERE id = 1', [newTerm, ciphertext]);
      await m.query('UPDATE barrier_term_usage SET encryptions = GREATEST(encryptions, $2) WHERE term = $1', [expectedActiveTerm, oldTermEncryptions]);
      await m.query('INSERT INTO barrier_term_usage (term, installed_at, encryptions) VALUES ($1, $2, 0)', [newTerm, installedAt]);
    });
  }

  /** Counters only ever grow. */
  async recordEncryptions(term: number, encryptions: number): Promise<void> {
    await this.dataSource.query('UPDATE barrier_term_usage SET encryptions = GREATEST(encryptions, $2) WHERE term = $1', [term, encryptions]);
  }

  /** Vault's automatic rotation settings (sys/rotate/config); undefined until first written. */
  async loadRotationConfig(): Promise<RotationConfig | undefined> {
    const rows: { max_operations: string; interval_seconds: number; enabled: boolean }[] = await this.dataSource.query(
      'SELECT max_operations, interval_seconds, enabled FROM barrier_rotation_config WHERE id = 1',
    );
    return rows[0] ? { maxOperations: Number(rows[0].max_operations), intervalSeconds: rows[0].interval_seconds, enabled: rows[0].enabled } : undefined;
  }

  async saveRotationConfig(c: RotationConfig): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO barrier_rotation_config (id, max_operations, interval_seconds, enabled, updated_at) VALUES (1, $1, $2, $3, now())
       ON CONFLICT (id) DO UPDATE SET max_operations = EXCLUDED.max_operations, interval_seconds = EXCLUDED.interval_seconds, enabled = EXCLUDED.enabled, updated_at = now()`,
      [c.maxOperations, c.intervalSeconds, c.enabled],
    );
  }
}
