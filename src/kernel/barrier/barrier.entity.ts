/**
 * The barrier's tables: the keyring (one row, id 1, barrier ciphertext under the root key), each
 * term's encryption count, and the automatic rotation settings (one row, id 1, not secret).
 */
import { Check, Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'barrier_keyring' })
@Check('barrier_keyring_id_check', 'id = 1')
export class BarrierKeyringEntity {
  @PrimaryColumn({ type: 'smallint', default: 1, primaryKeyConstraintName: 'barrier_keyring_pkey' }) id!: number;
  @Column({ name: 'active_term', type: 'integer' }) activeTerm!: number;
  @Column({ name: 'keyring_ciphertext', type: 'bytea' }) keyringCiphertext!: Buffer;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt!: Date;
}

@Entity({ name: 'barrier_term_usage' })
export class BarrierTermUsageEntity {
  @PrimaryColumn({ type: 'integer', primaryKeyConstraintName: 'barrier_term_usage_pkey' }) term!: number;
  @Column({ name: 'installed_at', type: 'timestamptz' }) installedAt!: Date;
  @Column({ type: 'bigint', default: 0 }) encryptions!: string;
}

@Entity({ name: 'barrier_rotation_config' })
@Check('barrier_rotation_config_id_check', 'id = 1')
@Check('barrier_rotation_config_max_operations_check', 'max_operations > 0')
@Check('barrier_rotation_config_interval_seconds_check', 'interval_seconds >= 0')
export class BarrierRotationConfigEntity {
  @PrimaryColumn({ type: 'smallint', primaryKeyConstraintName: 'barrier_rotation_config_pkey' }) id!: number;
  @Column({ name: 'max_operations', type: 'bigint' }) maxOperations!: string;
  @Column({ name: 'interval_seconds', type: 'integer' }) intervalSeconds!: number;
  @Column({ type: 'boolean' }) enabled!: boolean;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt!: Date;
}

export const BARRIER_ENTITIES = [BarrierKeyringEntity, BarrierTermUsageEntity, BarrierRotationConfigEntity];
