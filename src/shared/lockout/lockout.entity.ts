/** Login lockout counters per (mount accessor, login name); deleted with the mount (ON DELETE CASCADE on `mounts (accessor)`). */
import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { MountEntity } from '../../kernel/router/mount.entity';

@Entity({ name: 'login_lockouts' })
@Index('login_lockouts_locked', ['lockedUntil'], { where: 'locked_until IS NOT NULL' })
@Check('login_lockouts_attempts_check', 'attempts > 0')
export class LoginLockoutEntity {
  @PrimaryColumn({ name: 'mount_accessor', type: 'text', primaryKeyConstraintName: 'login_lockouts_pkey' }) mountAccessor!: string;
  @PrimaryColumn({ name: 'login_name', type: 'text', primaryKeyConstraintName: 'login_lockouts_pkey' }) loginName!: string;
  @Column({ type: 'integer' }) attempts!: number;
  @Column({ name: 'first_attempt_at', type: 'timestamptz' }) firstAttemptAt!: Date;
  @Column({ name: 'last_attempt_at', type: 'timestamptz' }) lastAttemptAt!: Date;
  @Column({ name: 'locked_until', type: 'timestamptz', nullable: true }) lockedUntil!: Date | null;

  @ManyToOne(() => MountEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'mount_accessor', referencedColumnName: 'accessor', foreignKeyConstraintName: 'login_lockouts_mount_accessor_fkey' })
  mount?: MountEntity;
}

export const LOCKOUT_ENTITIES = [LoginLockoutEntity];
