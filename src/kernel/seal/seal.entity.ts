/** The seal configuration (one row, id 1): `root_key_wrapped` is the root key under the unseal or HSM key. */
import { Check, Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'seal_config' })
@Check('seal_config_id_check', 'id = 1')
@Check('seal_config_secret_shares_check', 'secret_shares >= 1 AND secret_shares <= 255')
@Check('seal_config_check', 'secret_threshold >= 1 AND secret_threshold <= secret_shares')
export class SealConfigEntity {
  @PrimaryColumn({ type: 'smallint', default: 1, primaryKeyConstraintName: 'seal_config_pkey' }) id!: number;
  @Column({ name: 'seal_type', type: 'text' }) sealType!: string;
  @Column({ name: 'secret_shares', type: 'integer' }) secretShares!: number;
  @Column({ name: 'secret_threshold', type: 'integer' }) secretThreshold!: number;
  @Column({ name: 'root_key_wrapped', type: 'bytea', comment: 'root key, AES-256-GCM under the unseal key (Shamir) or the HSM key' }) rootKeyWrapped!: Buffer;
  @Column({ name: 'cluster_name', type: 'text' }) clusterName!: string;
  @Column({ name: 'cluster_id', type: 'uuid' }) clusterId!: string;
  @Column({ name: 'initialized_at', type: 'timestamptz', default: () => 'now()' }) initializedAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt!: Date;
}

export const SEAL_ENTITIES = [SealConfigEntity];
