/**
 * sys/ routes of the processes sharing the database: leader (unauthenticated, Vault's bare JSON),
 * ha-status (the live members, Vault's `nodes` list) and step-down (sudo).
 *
 * Every unsealed process serves requests; "leader" means the holder of the leader lease, which
 * does the singleton work (src/kernel/cluster/leader-lease.ts).
 */
import { logical, raw, type RouteDefinition } from '../../framework/route';
import type { LeaderLease } from '../../kernel/cluster/leader-lease';
import type { NodeRecord, NodeRegistry } from '../../kernel/cluster/node-registry';

export interface HaPathsDeps {
  lease: LeaderLease;
  registry: NodeRegistry;
}

/** Go's zero time, which Vault gives as active_time when it has none. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

function haNode(n: NodeRecord) {
  return {
    hostname: n.hostname,
    api_address: n.apiAddr,
    cluster_address: n.clusterAddr,
    active_node: n.leader,
    // Vault: the active node has no echo of its own.
    last_echo: n.leader ? null : n.lastEcho.toISOString(),
    version: n.version,
  };
}

export function haPaths({ lease, registry }: HaPathsDeps): RouteDefinition[] {
  return [
    {
      path: 'leader',
      methodsBeforeToken: true,
      auth: 'none',
      help: 'High-availability status: whether this process holds the leader lease, and the leader’s address.',
      handlers: {
        read: async () => {
          const holding = lease.holding;
          const leader = (await registry.live()).find((n) => n.leader);
          return raw(200, {
            ha_enabled: true,
            is_self: holding !== undefined,
            active_time: holding ? holding.acquiredAt.toISOString() : ZERO_TIME,
            leader_address: leader?.apiAddr ?? '',
            leader_cluster_address: leader?.clusterAddr ?? '',
            performance_standby: false,
            performance_standby_last_remote_wal: 0,
          });
        },
      },
    },
    {
      path: 'ha-status',
      injectDataAtTopLevel: true,
      help: 'The processes sharing this storage that were heard from within the lease TTL, the leader first.',
      handlers: { read: async () => logical({ nodes: (await registry.live()).map(haNode) }) },
    },
    {
      path: 'step-down',
      auth: 'sudo',
      help: 'The leader gives up the leader lease and stays out for one lease TTL, so another process takes it.',
      handlers: {
        update: async () => {
          await lease.stepDown();
          return raw(204);
        },
      },
    },
  ];
}
