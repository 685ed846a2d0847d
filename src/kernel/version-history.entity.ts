/** Each server version the first time it unsealed this storage (sys/version-history). */
import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'version_history' })
export class VersionHistoryEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'version_history_pkey' }) version!: string;
  @Column({ name: 'build_date', type: 'text' }) buildDate!: string;
  @Column({ name: 'installed_at', type: 'timestamptz', default: () => 'now()' }) installedAt!: Date;
}

export const VERSION_HISTORY_ENTITIES = [VersionHistoryEntity];
