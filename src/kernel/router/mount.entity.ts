/**
 * The mount table. Backend tables reference `mounts (uuid)` (login lockouts `mounts (accessor)`)
 * ON DELETE CASCADE, so disabling a mount removes its data. Paths end in '/' and do not start with it.
 */
import { Check, Column, Entity, PrimaryColumn, Unique } from 'typeorm';

@Entity({ name: 'mounts' })
@Unique('mounts_path_key', ['path'])
@Unique('mounts_accessor_key', ['accessor'])
@Check('mounts_path_check', "path ~ '^[^/].*/$'")
@Check('mounts_class_check', "class IN ('secret', 'auth')")
export class MountEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'mounts_pkey' }) uuid!: string;
  @Column({ type: 'text' }) path!: string;
  @Column({ type: 'text' }) class!: string;
  @Column({ type: 'text' }) type!: string;
  @Column({ type: 'text', default: '' }) description!: string;
  @Column({ type: 'text' }) accessor!: string;
  @Column({ type: 'jsonb', default: {} }) config!: Record<string, unknown>;
  @Column({ type: 'jsonb', default: {} }) options!: Record<string, unknown>;
  @Column({ type: 'boolean', default: false }) local!: boolean;
  @Column({ name: 'seal_wrap', type: 'boolean', default: false }) sealWrap!: boolean;
  @Column({ name: 'external_entropy_access', type: 'boolean', default: false }) externalEntropyAccess!: boolean;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt!: Date;
}

export const MOUNT_ENTITIES = [MountEntity];
