/**
 * Key management beyond Vault (issue 29): a key's rotation history and full history, each
 * version's lifecycle state, the key's health, and the mount's summary.
 *
 * Invariants: read-only; history rows are listed oldest first as recorded; no answer carries key
 * material.
 */
import { logical, route, type RequestContext, type RouteDefinition } from '../../framework/route';
import { notFound } from '../../kernel/errors';
import { keyHealth, summarize } from '../../kernel/key-management/key-health';
import { healthKeyOf, summaryKeyOf, versionState } from './key-lifecycle';
import { checkedName, type TransitDeps } from './transit-common';
import type { TransitHistoryRow, TransitKeyPolicy } from './transit.repository';

function historyAnswer(rows: TransitHistoryRow[]): Record<string, unknown>[] {
  return rows.map((r) => ({
    time: r.at.toISOString(),
    event: r.event,
    reason: r.reason,
    actor: r.actor ?? null,
    from_version: r.fromVersion ?? null,
    to_version: r.toVersion ?? null,
    ...(r.details ? { details: r.details } : {}),
  }));
}

/** Each version's state, destroyed ones included (from 1 to latest). */
export function versionStates(p: TransitKeyPolicy): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (let v = 1; v <= p.latestVersion; v++) {
    const info = p.versions[String(v)];
    out[String(v)] = {
      state: versionState(p, v),
      created_at: info?.createdAt.toISOString() ?? null,
      operations: info?.operations ?? null,
    };
  }
  return out;
}

export function transitLifecyclePaths(deps: TransitDeps): RouteDefinition[] {
  const { store } = deps;
  const policyOf = async (ctx: RequestContext, name: string): Promise<TransitKeyPolicy> => {
    const p = await store.repository.policy(ctx.mount.uuid, name);
    if (!p) throw notFound();
    return p;
  };
  /** The latest version's operations: stored plus what this process has counted and not written yet. */
  const latestOperations = (ctx: RequestContext, p: TransitKeyPolicy): number =>
    (p.versions[String(p.latestVersion)]?.operations ?? 0) +
    (deps.usage?.pendingFor({ mountUuid: ctx.mount.uuid, name: p.name, version: p.latestVersion }) ?? 0);

  return [
    route({
      path: 'key-summary',
      fields: {},
      help: 'SecretHub: the health summary of this mount’s keys (one query): by type and health, rotations due, overdue keys, usage, failures, score.',
      pureOperations: ['read'],
      handlers: {
        read: async (ctx) => {
          const rows = await store.repository.summaryRows(ctx.mount.uuid);
          const keys = await Promise.all(rows.map(async (r) => ({ ...summaryKeyOf(r, ''), hsmReachable: await deps.hsmReachable?.(r.managedKeyId) })));
          return logical(summarize(keys, Date.now()));
        },
      },
    }),
    route({
      path: 'keys/:name/rotations',
      fields: {},
      help: 'SecretHub: the key’s rotations, oldest first: time, reason (manual, period, usage, compliance), actor, versions before and after.',
      pureOperations: ['read'],
      handlers: {
        read: async (ctx) => {
          const p = await policyOf(ctx, checkedName(ctx));
          return logical({ rotations: historyAnswer(await store.history(ctx.mount.uuid, p.name, ['rotation', 'rotation-failed'])) });
        },
      },
    }),
    route({
      path: 'keys/:name/history',
      fields: {},
      help: 'SecretHub: everything recorded of the key, oldest first: creation, rotations, setting changes, trims, imports, restores.',
      pureOperations: ['read'],
      handlers: {
        read: async (ctx) => {
          const p = await policyOf(ctx, checkedName(ctx));
          return logical({ history: historyAnswer(await store.history(ctx.mount.uuid, p.name)) });
        },
      },
    }),
    route({
      path: 'keys/:name/health',
      fields: {},
      help: 'SecretHub: each version’s lifecycle state and the key’s health score with its reasons.',
      pureOperations: ['read'],
      handlers: {
        read: async (ctx) => {
          const p = await policyOf(ctx, checkedName(ctx));
          const hsmReachable = await deps.hsmReachable?.(p.managedKeyId);
          const health = keyHealth(healthKeyOf(p, p.versions[String(p.latestVersion)]?.createdAt), {
            hsmReachable,
            now: Date.now(),
            latestOperations: latestOperations(ctx, p),
            failedRotations: p.failedRotations,
          });
          return logical({ name: p.name, type: p.type, latest_version: p.latestVersion, versions: versionStates(p), ...health });
        },
      },
    }),
  ];
}
