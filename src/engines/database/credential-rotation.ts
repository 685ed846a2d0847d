/**
 * Password rotation for a connection's root user (`rotate-root`) and for static roles, crash-safe
 * by a write-ahead record: the new password is committed (barrier ciphertext, `pendingPassword`)
 * before the target database is asked to change it, and promoted only after the target did.
 *
 * Invariants:
 * - at any instant the stored state knows every password the target may hold: the current one and,
 *   while a rotation is under way or was cut short by a crash, the pending one;
 * - a pending rotation is rolled forward, never forgotten: the same pending password is applied
 *   again (an idempotent ALTER) by the next rotation request, `reset`, or the periodic pass, as the
 *   old root password or, if the target already took the new one, as the new one;
 * - a pending root rotation is dropped only when the target provably still takes the old password.
 */
import type { LeaderFence } from '../../framework/backend';
import { randomPassword } from '../../crypto/random';
import type { MountEntry } from '../../framework/backend';
import { badRequest } from '../../kernel/errors';
import type { EngineObjectRepository } from '../../shared/engine-objects.repository';
import { PLUGINS, safeTargetMessage, type StoredConnection } from './plugins';

/** The default generated password: 30 base-62 characters and one of each class, for targets with complexity rules. */
export function newPassword(): string {
  return `${randomPassword(30)}-A1a`;
}

/** Where rotations get passwords: the connection's password policy (`sys/policies/password`) or the default. */
export type PasswordSource = (policyName: string | undefined) => Promise<string>;

export interface RotationDeps {
  objects: EngineObjectRepository;
  passwords: PasswordSource;
}

export interface StoredStaticRole {
  dbName: string;
  username: string;
  rotationPeriod: number;
  rotationStatements: string[];
  /** The password the target holds (absent until the first rotation completed). */
  password?: string;
  /** When the last rotation completed (ms since the epoch). */
  lastRotation?: number;
  pendingPassword?: string;
  pendingSince?: number;
}

const withoutPending = <T extends { pendingPassword?: string; pendingSince?: number }>(o: T): T => {
  const copy = { ...o };
  delete copy.pendingPassword;
  delete copy.pendingSince;
  return copy;
};

/** Rotates the root password of connection `name` (or finishes a rotation a crash cut short). */
export async function rotateRoot({ objects, passwords }: RotationDeps, mount: MountEntry, name: string): Promise<void> {
  const current = await objects.get<StoredConnection>(mount.uuid, 'connection', name);
  if (!current) throw badRequest(`unknown database "${name}"`);
  const candidate = await passwords(current.passwordPolicy);
  await objects.modify<StoredConnection>(mount.uuid, 'connection', name, (c) =>
    c.pendingPassword !== undefined ? undefined : { ...c, pendingPassword: candidate, pendingSince: Date.now() },
  );
  await completeRootRotation(objects, mount, name);
}

/** Applies a pending root rotation, if any, and promotes it; throws the target's error when it cannot. */
export async function completeRootRotation(objects: EngineObjectRepository, mount: MountEntry, name: string): Promise<void> {
  const c = await objects.get<StoredConnection>(mount.uuid, 'connection', name);
  const pending = c?.pendingPassword;
  if (!c || pending === undefined) return;
  const plugin = PLUGINS[c.pluginName];
  const statements = c.rootRotationStatements ?? [];
  try {
    await plugin.setPassword(c, statements, c.username, pending);
  } catch (asOldRoot) {
    // After a crash between the change on the target and the promotion, only the new password logs in.
    try {
      await plugin.setPassword({ ...c, password: pending }, statements, c.username, pending);
    } catch {
      const oldStillWorks = await plugin.verify(c).then(
        () => true,
        () => false,
      );
      if (oldStillWorks)
        await objects.modify<StoredConnection>(mount.uuid, 'connection', name, (cur) => (cur.pendingPassword === pending ? withoutPending(cur) : undefined));
      throw asOldRoot;
    }
  }
  await objects.modify<StoredConnection>(mount.uuid, 'connection', name, (cur) =>
    cur.pendingPassword === pending ? { ...withoutPending(cur), password: pending } : undefined,
  );
}

/** Rotates a static role's password now (or finishes a rotation a crash cut short). */
export async function rotateStaticRole({ objects, passwords }: RotationDeps, mount: MountEntry, name: string, fence?: LeaderFence): Promise<StoredStaticRole> {
  const current = await objects.get<StoredStaticRole>(mount.uuid, 'static-role', name);
  if (!current) throw badRequest(`unknown static role: ${name}`);
  const conn = await objects.get<StoredConnection>(mount.uuid, 'connection', current.dbName);
  if (!conn) throw badRequest(`unknown database "${current.dbName}"`);
  const candidate = current.pendingPassword ?? (await passwords(conn.passwordPolicy));
  const role = await objects.modify<StoredStaticRole>(
    mount.uuid,
    'static-role',
    name,
    (r) => (r.pendingPassword !== undefined ? undefined : { ...r, pendingPassword: candidate, pendingSince: Date.now() }),
    fence,
  );
  if (!role) throw badRequest(`unknown static role: ${name}`);
  const pending = role.pendingPassword as string;
  await PLUGINS[conn.pluginName].setPassword(conn, role.rotationStatements, role.username, pending);
  const done = await objects.modify<StoredStaticRole>(
    mount.uuid,
    'static-role',
    name,
    (cur) => (cur.pendingPassword === pending ? { ...withoutPending(cur), password: pending, lastRotation: Date.now() } : undefined),
    fence,
  );
  return done ?? role;
}

/** Seconds until a static role's next scheduled rotation (0: due). */
export function secondsToRotation(role: StoredStaticRole, now = Date.now()): number {
  if (role.lastRotation === undefined) return 0;
  return Math.max(0, Math.ceil((role.lastRotation + role.rotationPeriod * 1000 - now) / 1000));
}

/**
 * The periodic part: finishes root rotations cut short, then rotates static roles that are due or
 * were cut short. One failure is logged and does not stop the others. With the leader lease's
 * fence, a static role's stored changes commit only while this process leads (a rotation cut short
 * by a lost lease is finished by the next leader, as after a crash).
 */
export async function runScheduledRotations(deps: RotationDeps, mount: MountEntry, log: (m: string) => void, fence?: LeaderFence): Promise<void> {
  const { objects } = deps;
  for (const name of await objects.names(mount.uuid, 'connection')) {
    const c = await objects.get<StoredConnection>(mount.uuid, 'connection', name);
    if (c?.pendingPassword === undefined) continue;
    await completeRootRotation(objects, mount, name).then(
      () => log(`database: ${mount.path}config/${name}: finished an interrupted root rotation`),
      (err: Error) => log(`database: ${mount.path}config/${name}: root rotation still pending: ${safeTargetMessage(err)}`),
    );
  }
  for (const name of await objects.names(mount.uuid, 'static-role')) {
    const r = await objects.get<StoredStaticRole>(mount.uuid, 'static-role', name);
    if (!r || (r.pendingPassword === undefined && secondsToRotation(r) > 0)) continue;
    if (fence && !fence.isLeader) return;
    await rotateStaticRole(deps, mount, name, fence).catch((err: Error) =>
      log(`database: ${mount.path}static-roles/${name}: rotation failed, retried next pass: ${safeTargetMessage(err)}`),
    );
  }
}
