/** Cubbyhole entries: private to one token and deleted with it (ON DELETE CASCADE); values are barrier ciphertext. */
import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { TokenEntity } from '../token/token.entity';

@Entity({ name: 'cubbyhole_entries' })
export class CubbyholeEntryEntity {
  @PrimaryColumn({ name: 'token_hmac', type: 'bytea', primaryKeyConstraintName: 'cubbyhole_entries_pkey' }) tokenHmac!: Buffer;
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'cubbyhole_entries_pkey' }) path!: string;
  @Column({ name: 'value_ciphertext', type: 'bytea' }) valueCiphertext!: Buffer;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;

  @ManyToOne(() => TokenEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'token_hmac', foreignKeyConstraintName: 'cubbyhole_entries_token_hmac_fkey' })
  token?: TokenEntity;
}

export const CUBBYHOLE_ENTITIES = [CubbyholeEntryEntity];
