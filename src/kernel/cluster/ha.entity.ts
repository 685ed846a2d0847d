/** The leader lease row and the node registry (migration 1734100000000). */
import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'ha_leader' })
export class HaLeaderEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'ha_leader_pkey' }) name!: string;
  @Column({ type: 'text' }) holder!: string;
  @Column({ type: 'bigint' }) epoch!: string;
  @Column({ name: 'valid_until', type: 'timestamptz' }) validUntil!: Date;
  @Column({ name: 'acquired_at', type: 'timestamptz', default: () => 'now()' }) acquiredAt!: Date;
}

@Entity({ name: 'ha_nodes' })
export class HaNodeEntity {
  @PrimaryColumn({ name: 'node_id', type: 'text', primaryKeyConstraintName: 'ha_nodes_pkey' }) nodeId!: string;
  @PrimaryColumn({ name: 'worker_id', type: 'integer', primaryKeyConstraintName: 'ha_nodes_pkey' }) workerId!: number;
  @Column({ type: 'text' }) hostname!: string;
  @Column({ name: 'api_addr', type: 'text' }) apiAddr!: string;
  @Column({ name: 'cluster_addr', type: 'text' }) clusterAddr!: string;
  @Column({ type: 'text' }) version!: string;
  @Column({ name: 'started_at', type: 'timestamptz' }) startedAt!: Date;
  @Column({ name: 'last_echo', type: 'timestamptz', default: () => 'now()' }) lastEcho!: Date;
  @Column({ name: 'singleton_writes', type: 'bigint', default: 0 }) singletonWrites!: string;
}

export const HA_ENTITIES = [HaLeaderEntity, HaNodeEntity];
