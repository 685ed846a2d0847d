/** The seal configuration (one row, id 1): `root_key_wrapped` is the root key under the unseal or HSM key. */
import { Check, Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'seal_config' })
@Check('seal_config_id_check', 'id = 1')
@Check('seal_config_secret_shares_check', 'secret_shares >= 1 AND secret_shares <= 255')
@Check('seal_config_check', 'secret_threshold >= 1 AND secret_threshold <= secret_shares')
@Check('seal_config_seal_type_check', "seal_type IN ('shamir', 'pkcs11')")
@Check(
  'seal_config_recovery_check',
  `(recovery_shares IS NULL AND recovery_threshold IS NULL AND recovery_key_check IS NULL)
          OR (recovery_shares BETWEEN 1 AND 255 AND recovery_threshold BETWEEN 1 AND recovery_shares AND recovery_key_check IS NOT NULL)`,
)
@Check(
  'seal_config_hsm_check',
  `(seal_type = 'shamir' AND recovery_shares IS NULL AND hsm_key_label IS NULL AND hsm_key_id IS NULL AND hsm_mechanism IS NULL)
          OR (seal_type = 'pkcs11' AND recovery_shares IS NOT NULL AND hsm_mechanism IS NOT NULL AND (hsm_key_label IS NOT NULL OR hsm_key_id IS NOT NULL))`,
)
export class SealConfigEntity {
  @PrimaryColumn({ type: 'smallint', default: 1, primaryKeyConstraintName: 'seal_config_pkey' }) id!: number;
  @Column({ name: 'seal_type', type: 'text' }) sealType!: string;
  @Column({ name: 'secret_shares', type: 'integer' }) secretShares!: number;
  @Column({ name: 'secret_threshold', type: 'integer' }) secretThreshold!: number;
  @Column({ name: 'root_key_wrapped', type: 'bytea', comment: 'root key, AES-256-GCM under the unseal key (Shamir) or the HSM key' }) rootKeyWrapped!: Buffer;
  @Column({ name: 'cluster_name', type: 'text' }) clusterName!: string;
  @Column({ name: 'cluster_id', type: 'uuid' }) clusterId!: string;
  @Column({ name: 'initialized_at', type: 'timestamptz', default: () => 'now()' }) initializedAt!: Date;
  @Column({ name: 'recovery_shares', type: 'integer', nullable: true }) recoveryShares!: number | null;
  @Column({ name: 'recovery_threshold', type: 'integer', nullable: true }) recoveryThreshold!: number | null;
  @Column({
    name: 'recovery_key_check',
    type: 'bytea',
    nullable: true,
    comment: 'AES-256-GCM of nothing under the recovery key: proves a combined recovery key without the HSM',
  })
  recoveryKeyCheck!: Buffer | null;
  @Column({ name: 'hsm_key_label', type: 'text', nullable: true }) hsmKeyLabel!: string | null;
  @Column({ name: 'hsm_key_id', type: 'text', nullable: true }) hsmKeyId!: string | null;
  @Column({ name: 'hsm_mechanism', type: 'integer', nullable: true }) hsmMechanism!: number | null;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt!: Date;
}

/**
 * A rekey in progress (sys/rekey, sys/rekey-recovery-key), one row per target, shared by every
 * process of every node. Submitted shares and a new key awaiting verification are sealed by the
 * barrier, bound to the target and the operation's nonce (sealed-columns.ts).
 */
@Entity({ name: 'rekey_operations' })
@Check('rekey_operations_target_check', "target IN ('barrier', 'recovery')")
export class RekeyOperationEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'rekey_operations_pkey' }) target!: string;
  @Column({ type: 'uuid' }) nonce!: string;
  @Column({ name: 'started_at', type: 'timestamptz', default: () => 'now()' }) startedAt!: Date;
  @Column({ name: 'secret_shares', type: 'integer' }) secretShares!: number;
  @Column({ name: 'secret_threshold', type: 'integer' }) secretThreshold!: number;
  @Column({ name: 'require_verification', type: 'boolean' }) requireVerification!: boolean;
  @Column({ type: 'integer', default: 0 }) progress!: number;
  @Column({ name: 'progress_ciphertext', type: 'bytea', nullable: true }) progressCiphertext!: Buffer | null;
  @Column({ name: 'authorised_check', type: 'bytea', nullable: true }) authorisedCheck!: Buffer | null;
  @Column({ name: 'verification_nonce', type: 'uuid', nullable: true }) verificationNonce!: string | null;
  @Column({ name: 'verification_key_ciphertext', type: 'bytea', nullable: true }) verificationKeyCiphertext!: Buffer | null;
  @Column({ name: 'verification_progress', type: 'integer', default: 0 }) verificationProgress!: number;
  @Column({ name: 'verification_progress_ciphertext', type: 'bytea', nullable: true }) verificationProgressCiphertext!: Buffer | null;
}

/**
 * A root generation in progress (sys/generate-root), one row, shared by every process of every node.
 * The OTP and the submitted shares are sealed by the barrier, bound to the attempt's nonce.
 */
@Entity({ name: 'generate_root_attempts' })
@Check('generate_root_attempts_name_check', "name = 'root'")
export class GenerateRootAttemptEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'generate_root_attempts_pkey' }) name!: string;
  @Column({ type: 'uuid' }) nonce!: string;
  @Column({ name: 'started_at', type: 'timestamptz', default: () => 'now()' }) startedAt!: Date;
  @Column({ name: 'otp_ciphertext', type: 'bytea' }) otpCiphertext!: Buffer;
  @Column({ type: 'integer', default: 0 }) progress!: number;
  @Column({ name: 'progress_ciphertext', type: 'bytea', nullable: true }) progressCiphertext!: Buffer | null;
}

export const SEAL_ENTITIES = [SealConfigEntity, RekeyOperationEntity, GenerateRootAttemptEntity];
