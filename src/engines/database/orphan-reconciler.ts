/**
 * The orphan reconciler: drops users this mount generated that no lease tracks, once they are older
 * than the grace period. They appear when a node dies between creating a user and committing its
 * lease, or when lease records are dropped without the engine (revoke-force).
 *
 * Invariants: only names of this mount's generated form (`generatedAt` with the mount's tag) are
 * candidates, so users made by people, by static roles or by another mount are never touched; a
 * user is dropped only when it is older than the grace period (longer than any creds request
 * takes) and no unrevoked lease (irrevocable ones included) names it.
 */
import type { MountEntry } from '../../framework/backend';
import type { EngineObjectRepository } from '../../shared/engine-objects.repository';
import { PLUGINS, safeTargetMessage, type StoredConnection } from './plugins';
import { generatedAt, mountTag } from './statement-template';

/** Default grace: far longer than a creds request can take between the user and its lease. */
export const DEFAULT_ORPHAN_GRACE_SECONDS = 900;

export interface OrphanReconcilerDeps {
  objects: EngineObjectRepository;
  /** The usernames of the mount's unrevoked leases on connection `db`. */
  leasedUsernames(mountUuid: string, db: string): Promise<Set<string>>;
  log(m: string): void;
}

/** Drops the mount's orphaned users on every connection; gives how many were dropped. */
export async function reconcileOrphans(deps: OrphanReconcilerDeps, mount: MountEntry, graceSeconds: number, now = Date.now()): Promise<number> {
  const tag = mountTag(mount.uuid);
  let dropped = 0;
  for (const db of await deps.objects.names(mount.uuid, 'connection')) {
    const conn = await deps.objects.get<StoredConnection>(mount.uuid, 'connection', db);
    if (!conn) continue;
    const plugin = PLUGINS[conn.pluginName];
    try {
      const old = (await plugin.listUsers(conn, 'v-')).filter((u) => {
        const at = generatedAt(u, tag);
        return at !== undefined && at < now - graceSeconds * 1000;
      });
      if (old.length === 0) continue;
      const leased = await deps.leasedUsernames(mount.uuid, db);
      for (const username of old.filter((u) => !leased.has(u))) {
        await plugin.revoke(conn, [], username);
        dropped++;
        deps.log(`database: ${mount.path}config/${db}: dropped orphaned user ${username} (no lease)`);
      }
    } catch (err) {
      deps.log(`database: ${mount.path}config/${db}: orphan reconciliation failed: ${safeTargetMessage(err)}`);
    }
  }
  return dropped;
}
