/** Kernel secrets (salts, HMAC keys) by name; values are barrier ciphertext. */
import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'kernel_secrets' })
export class KernelSecretEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'kernel_secrets_pkey' }) name!: string;
  @Column({ name: 'value_ciphertext', type: 'bytea' }) valueCiphertext!: Buffer;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
}

export const KERNEL_SECRETS_ENTITIES = [KernelSecretEntity];
