/**
 * The node registry: one `ha_nodes` row per unsealed process sharing the database, for
 * sys/ha-status and sys/leader.
 *
 * Invariants:
 * - a process writes its row at unseal and then every heartbeat (the lease's renew interval),
 *   and deletes it at seal or graceful stop;
 * - a row not heard from for `staleMs` (the lease TTL: three missed heartbeats with the defaults)
 *   is left out of what `live()` gives; a row not heard from for an hour is deleted by whichever
 *   process heartbeats next (a process killed without a stop leaves one behind);
 * - times are the database clock's.
 */
import type { DataSource } from 'typeorm';
import { LEADER_LEASE_NAME } from './leader-lease';
import type { NodeIdentity } from './node-identity';

/** Rows silent this long are deleted. */
const FORGET_AFTER_MS = 3_600_000;

export interface NodeRecord {
  nodeId: string;
  workerId: number;
  hostname: string;
  apiAddr: string;
  clusterAddr: string;
  version: string;
  startedAt: Date;
  lastEcho: Date;
  singletonWrites: number;
  /** Whether this row's process holds the leader lease (valid by the database clock). */
  leader: boolean;
  /** The lease's acquisition time, for the leader's row. */
  activeSince?: Date;
}

export interface NodeRegistryOptions {
  identity: NodeIdentity;
  hostname: string;
  apiAddr: string;
  clusterAddr: string;
  version: string;
  heartbeatMs: number;
  staleMs: number;
  log: { error(m: string): void };
}

const HEARTBEAT = `
  INSERT INTO ha_nodes (node_id, worker_id, hostname, api_addr, cluster_addr, version, started_at, last_echo)
  VALUES ($1, $2, $3, $4, $5, $6, $7, clock_timestamp())
  ON CONFLICT (node_id, worker_id) DO UPDATE
    SET hostname = EXCLUDED.hostname, api_addr = EXCLUDED.api_addr, cluster_addr = EXCLUDED.cluster_addr,
        version = EXCLUDED.version, started_at = EXCLUDED.started_at, last_echo = EXCLUDED.last_echo`;
const FORGET = `DELETE FROM ha_nodes WHERE last_echo < clock_timestamp() - $1 * interval '1 millisecond'`;
const LIVE = `
  SELECT n.node_id, n.worker_id, n.hostname, n.api_addr, n.cluster_addr, n.version, n.started_at, n.last_echo,
         n.singleton_writes::text AS singleton_writes, l.acquired_at AS active_since
  FROM ha_nodes n
  LEFT JOIN ha_leader l ON l.name = $2 AND l.holder = n.node_id || '#' || n.worker_id AND l.valid_until > clock_timestamp()
  WHERE n.last_echo > clock_timestamp() - $1 * interval '1 millisecond'
  ORDER BY l.acquired_at IS NULL, n.node_id, n.worker_id`;

interface LiveRow {
  node_id: string;
  worker_id: number;
  hostname: string;
  api_addr: string;
  cluster_addr: string;
  version: string;
  started_at: Date;
  last_echo: Date;
  singleton_writes: string;
  active_since: Date | null;
}

export class NodeRegistry {
  private readonly startedAt = new Date();
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly options: NodeRegistryOptions,
  ) {}

  get identity(): NodeIdentity {
    return this.options.identity;
  }

  async start(): Promise<void> {
    this.stopping = undefined;
    await this.heartbeat();
    this.timer = setInterval(() => void this.tick(), this.options.heartbeatMs);
    this.timer.unref();
  }

  /** Idempotent: the row is deleted once. */
  stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const { nodeId, workerId } = this.options.identity;
    this.stopping ??= (async () => {
      await this.beating;
      await this.dataSource
        .query('DELETE FROM ha_nodes WHERE node_id = $1 AND worker_id = $2', [nodeId, workerId])
        .catch((e: Error) => this.options.log.error(`ha: could not remove this process from the node registry: ${e.message}`));
    })();
    return this.stopping;
  }

  async heartbeat(): Promise<void> {
    const o = this.options;
    await this.dataSource.query(HEARTBEAT, [o.identity.nodeId, o.identity.workerId, o.hostname, o.apiAddr, o.clusterAddr, o.version, this.startedAt]);
    await this.dataSource.query(FORGET, [FORGET_AFTER_MS]);
  }

  /** Processes heard from within `staleMs`, the leader first. */
  async live(): Promise<NodeRecord[]> {
    const rows: LiveRow[] = await this.dataSource.query(LIVE, [this.options.staleMs, LEADER_LEASE_NAME]);
    return rows.map((r) => ({
      nodeId: r.node_id,
      workerId: r.worker_id,
      hostname: r.hostname,
      apiAddr: r.api_addr,
      clusterAddr: r.cluster_addr,
      version: r.version,
      startedAt: r.started_at,
      lastEcho: r.last_echo,
      singletonWrites: Number(r.singleton_writes),
      leader: r.active_since !== null,
      ...(r.active_since ? { activeSince: r.active_since } : {}),
    }));
  }

  private tick(): void {
    this.beating ??= this.heartbeat()
      .catch((e: Error) => this.options.log.error(`ha: heartbeat failed: ${e.message}`))
      .finally(() => (this.beating = undefined));
  }
}
