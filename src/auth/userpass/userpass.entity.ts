/** Userpass users per mount (deleted with it, ON DELETE CASCADE); user names are bytewise (C collation), the password barrier ciphertext. */
import { Check, Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { MountEntity } from '../../kernel/router/mount.entity';

@Entity({ name: 'userpass_users' })
@Check('userpass_users_username_check', "username <> ''")
export class UserpassUserEntity {
  @PrimaryColumn({ name: 'mount_uuid', type: 'uuid', primaryKeyConstraintName: 'userpass_users_pkey' }) mountUuid!: string;
  @PrimaryColumn({ type: 'text', collation: 'C', primaryKeyConstraintName: 'userpass_users_pkey' }) username!: string;
  @Column({ name: 'password_ciphertext', type: 'bytea' }) passwordCiphertext!: Buffer;
  @Column({ name: 'token_params', type: 'jsonb' }) tokenParams!: Record<string, unknown>;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt!: Date;

  @ManyToOne(() => MountEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'mount_uuid', foreignKeyConstraintName: 'userpass_users_mount_uuid_fkey' })
  mount?: MountEntity;
}

export const USERPASS_ENTITIES = [UserpassUserEntity];
