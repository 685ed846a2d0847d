import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Several processes on one database: `ha_leader` (the leader lease: one row named 'leader', its
 * holder, the fencing epoch and until when it is valid by the database clock), the sequence epochs
 * are drawn from (so an epoch is never handed out twice, even after the row was deleted), and
 * `ha_nodes` (the node registry: one row per unsealed process, heartbeat in `last_echo`).
 */
export class HaLeader1734100000000 implements MigrationInterface {
  name = 'HaLeader1734100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE SEQUENCE ha_leader_epoch_seq AS bigint');
    await q.query(`
      CREATE TABLE ha_leader (
        name text PRIMARY KEY,
        holder text NOT NULL,
        epoch bigint NOT NULL,
        valid_until timestamptz NOT NULL,
        acquired_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE ha_nodes (
        node_id text NOT NULL,
        worker_id integer NOT NULL,
        hostname text NOT NULL,
        api_addr text NOT NULL,
        cluster_addr text NOT NULL,
        version text NOT NULL,
        started_at timestamptz NOT NULL,
        last_echo timestamptz NOT NULL DEFAULT now(),
        singleton_writes bigint NOT NULL DEFAULT 0,
        CONSTRAINT ha_nodes_pkey PRIMARY KEY (node_id, worker_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE ha_nodes');
    await q.query('DROP TABLE ha_leader');
    await q.query('DROP SEQUENCE ha_leader_epoch_seq');
  }
}
