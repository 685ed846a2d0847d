/**
 * Engine objects: configuration objects of the database, rabbitmq and pki engines and cert auth,
 * one row per (mount, kind, name), the whole object as barrier ciphertext. The table was
 * `database_objects` before, and its key and foreign key keep that name.
 */
import { Check, Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { MountEntity } from '../kernel/router/mount.entity';

@Entity({ name: 'engine_objects' })
@Check('engine_objects_kind_check', "kind ~ '^[a-z][a-z-]{0,31}$'")
export class EngineObjectEntity {
  @PrimaryColumn({ name: 'mount_uuid', type: 'uuid', primaryKeyConstraintName: 'database_objects_pkey' }) mountUuid!: string;
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'database_objects_pkey' }) kind!: string;
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'database_objects_pkey' }) name!: string;
  @Column({ name: 'value_ciphertext', type: 'bytea' }) valueCiphertext!: Buffer;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt!: Date;

  @ManyToOne(() => MountEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'mount_uuid', foreignKeyConstraintName: 'database_objects_mount_uuid_fkey' })
  mount?: MountEntity;
}

export const ENGINE_OBJECT_ENTITIES = [EngineObjectEntity];
