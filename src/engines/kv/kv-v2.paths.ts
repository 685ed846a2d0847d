/**
 * KV version 2: versioned secrets with Vault's paths and shapes (config, data, delete, undelete,
 * destroy, metadata, subkeys).
 *
 * Invariants: a version's value is sealed by the repository, bound to mount, version and path; every write
 * to a key holds the key's row lock (CAS exact under concurrency); versions beyond `max_versions`
 * are pruned in the write that made them surplus; a deleted (deletion_time passed) or destroyed
 * version reads as 404 with its metadata; a destroyed version's value is gone from storage.
 */
import { FieldError, toInt } from '../../framework/field-types';
import type { Fields } from '../../framework/fields';
import { smallerNonZero } from '../../framework/limits';
import { logical, route, type RequestContext, type RouteContext, type RouteDefinition } from '../../framework/route';
import { badRequest, notFound } from '../../kernel/errors';
import type { KvRepository } from './kv.repository';
import { isDeleted, type KvKey, type KvKeyMetadata, type KvMountConfig, type KvV2Repository, type KvValue, type KvVersion } from './kv-v2.repository';
import { goDuration, mergePatch, subkeys } from './kv-v2-values';

const DEFAULT_MAX_VERSIONS = 10;

const time = (d: Date | null): string => (d ? new Date(d).toISOString() : '');

function versionMetadata(v: KvVersion, meta: KvKeyMetadata): Record<string, unknown> {
  return {
    created_time: time(v.createdAt),
    custom_metadata: Object.keys(meta.customMetadata).length ? meta.customMetadata : null,
    deletion_time: time(v.deletionTime),
    destroyed: v.destroyed,
    version: v.version,
  };
}

const VERSIONS_FIELD = { versions: { type: 'int-list', description: 'The versions to act on.' } } as const satisfies Fields;
const CONFIG_FIELDS = {
  max_versions: { type: 'int', description: 'Versions kept per key (0: 10).' },
  cas_required: { type: 'bool', description: 'Every write must carry options.cas.' },
  delete_version_after: { type: 'duration', description: 'Versions are soft-deleted this long after they are written (0: never).' },
} as const satisfies Fields;
const METADATA_FIELDS = {
  ...CONFIG_FIELDS,
  custom_metadata: { type: 'map', description: 'Up to 64 string pairs kept with the key (not secret); PATCH removes a key given null.' },
} as const satisfies Fields;

function checkCustomMetadata(m: Record<string, unknown>): asserts m is Record<string, string> {
  const keys = Object.keys(m);
  if (keys.length > 64) throw badRequest('custom_metadata may have at most 64 keys');
  for (const k of keys) {
    if (typeof m[k] !== 'string') throw badRequest(`custom_metadata value of ${JSON.stringify(k)} must be a string`);
    if (k.length > 128) throw badRequest(`custom_metadata key ${JSON.stringify(k.slice(0, 20))}... is longer than 128 characters`);
    if ((m[k] as string).length > 512) throw badRequest(`custom_metadata value of ${JSON.stringify(k)} is longer than 512 characters`);
  }
}

function versionsOf(ctx: RouteContext<typeof VERSIONS_FIELD>): number[] {
  const versions = ctx.data.versions;
  if (!versions || versions.length === 0) throw badRequest('no versions provided');
  return versions;
}

export function kvV2Paths(v1: KvRepository, repo: KvV2Repository): RouteDefinition[] {
  /** The version to read (`?version=N`, 0 or absent: the current one) or a 404; its value when live. */
  const pick = async (ctx: RequestContext<{ version?: number }>): Promise<{ key: KvKey; version: KvVersion; value?: KvValue }> => {
    const found = await repo.readVersion(ctx.mount.uuid, ctx.params.path, ctx.data.version ?? 0);
    if (!found?.version) throw notFound();
    return { key: found.key, version: found.version, value: found.value };
  };

  /**
   * A read of one version: `field` computed from its value with its metadata, or, for a deleted or
   * destroyed version, Vault's 404 that still carries the metadata (and `field` null).
   */
  const readLiveVersion = async (
    ctx: RequestContext<{ version?: number }>,
    field: 'data' | 'subkeys',
    fromValue: (value: Record<string, unknown>) => unknown,
  ) => {
    const { key, version, value } = await pick(ctx);
    const metadata = versionMetadata(version, key.metadata);
    // The repository opened the value if the version was live when read; live now implies live then.
    if (version.destroyed || isDeleted(version) || value === undefined) return { ...logical({ [field]: null, metadata }), status: 404 };
    return logical({ [field]: fromValue(value), metadata });
  };

  /** Writes `data` as a new version after the CAS check; returns Vault's write answer. */
  const writeVersion = async (ctx: RequestContext, data: Record<string, unknown>, cas: number | undefined, mustExist: boolean) => {
    const result = await repo.withKey(ctx.mount.uuid, ctx.params.path, !mustExist, async (tx) => {
      const { config } = tx;
      const meta = tx.key.metadata;
      if (mustExist) {
        const current = await tx.liveValue(tx.key.currentVersion);
        if (!current) throw notFound();
        data = mergePatch(current, data);
      }
      if (config.casRequired || meta.casRequired) {
        if (cas === undefined) throw badRequest('check-and-set parameter required for this call');
      }
      if (cas !== undefined && cas !== tx.key.currentVersion) throw badRequest('check-and-set parameter did not match the current version');
      const version = tx.key.currentVersion + 1;
      const dva = smallerNonZero(meta.deleteVersionAfterSeconds, config.deleteVersionAfterSeconds);
      const deletionTime = dva ? new Date(Date.now() + dva * 1000) : null;
      const createdAt = await tx.insertVersion(version, data, deletionTime);
      const keep = meta.maxVersions || config.maxVersions || DEFAULT_MAX_VERSIONS;
      const next = { ...meta };
      if (version - keep + 1 > Math.max(meta.oldestVersion, 1)) {
        next.oldestVersion = version - keep + 1;
        await tx.pruneBelow(next.oldestVersion);
      }
      await tx.saveKey(version, next);
      return versionMetadata({ version, createdAt, deletionTime, destroyed: false }, next);
    });
    if (!result) throw notFound();
    return logical(result);
  };

  const bodyData = (ctx: RequestContext): { data: Record<string, unknown>; cas: number | undefined } => {
    // As sent: a `data` or `options` the pipeline accepted as a JSON string is refused or ignored here, not parsed.
    const data = ctx.body.data;
    if (data === undefined || data === null) throw badRequest('no data provided');
    if (typeof data !== 'object' || Array.isArray(data)) throw badRequest('data must be a JSON object');
    const options = (ctx.body.options ?? {}) as Record<string, unknown>;
    let cas: number | undefined;
    if (options.cas !== undefined && options.cas !== null && options.cas !== '') {
      try {
        cas = toInt('cas', options.cas);
      } catch (e) {
        if (e instanceof FieldError) throw badRequest('error parsing check-and-set parameter');
        throw e;
      }
    }
    return { data: data as Record<string, unknown>, cas };
  };

  const changeVersions = (op: 'delete' | 'undelete' | 'destroy') => async (ctx: RouteContext<typeof VERSIONS_FIELD>) => {
    const versions = versionsOf(ctx);
    await repo.withKey(ctx.mount.uuid, ctx.params.path, false, async (tx) => {
      if (op === 'delete') await tx.markDeleted(versions, new Date());
      else if (op === 'destroy') await tx.destroy(versions);
      else {
        const destroyed = (await tx.versions()).filter((v) => v.destroyed && versions.includes(v.version)).map((v) => v.version);
        if (destroyed.length) throw badRequest(`cannot undelete destroyed versions: ${destroyed.join(', ')}`);
        await tx.undelete(versions);
      }
    });
    return null;
  };

  const readMetadata = async (ctx: RequestContext) => {
    const found = await repo.read(ctx.mount.uuid, ctx.params.path);
    if (!found) throw notFound();
    const { key, versions } = found;
    const m = key.metadata;
    return logical({
      cas_required: m.casRequired,
      created_time: time(key.createdAt),
      current_version: key.currentVersion,
      custom_metadata: Object.keys(m.customMetadata).length ? m.customMetadata : null,
      delete_version_after: goDuration(m.deleteVersionAfterSeconds),
      max_versions: m.maxVersions,
      oldest_version: m.oldestVersion,
      updated_time: time(key.updatedAt),
      versions: Object.fromEntries(
        versions.map((v) => [String(v.version), { created_time: time(v.createdAt), deletion_time: time(v.deletionTime), destroyed: v.destroyed }]),
      ),
    });
  };

  /** metadata POST (replace what is given) and PATCH (merge custom_metadata; 404 when missing). */
  const writeMetadata = (patch: boolean) => async (ctx: RouteContext<typeof METADATA_FIELDS, 'update' | 'patch'>) => {
    const d = ctx.data;
    // POST replaces custom_metadata; PATCH merges the body's (below).
    const custom = patch ? undefined : d.custom_metadata;
    if (custom) checkCustomMetadata(custom);
    if (d.max_versions !== undefined && d.max_versions < 0) throw badRequest('max_versions must be 0 or more');
    const done = await repo.withKey(ctx.mount.uuid, ctx.params.path, !patch, async (tx) => {
      const m = { ...tx.key.metadata };
      if (d.max_versions !== undefined) m.maxVersions = d.max_versions;
      if (d.cas_required !== undefined) m.casRequired = d.cas_required;
      if (d.delete_version_after !== undefined) m.deleteVersionAfterSeconds = d.delete_version_after;
      // As sent: PATCH merges the body's custom_metadata (a JSON string is not parsed, as in the write above).
      if (patch && ctx.body.custom_metadata !== undefined) {
        const merged = mergePatch(m.customMetadata, (ctx.body.custom_metadata ?? {}) as Record<string, unknown>);
        checkCustomMetadata(merged);
        m.customMetadata = merged;
      } else if (custom) m.customMetadata = custom;
      await tx.saveKey(tx.key.currentVersion, m);
      return true;
    });
    if (!done) throw notFound();
    return null;
  };

  const list = async (ctx: RequestContext) => logical({ keys: await v1.listKeys(ctx.mount.uuid, ctx.params.path ? `${ctx.params.path}/` : '') });

  return [
    route({
      path: 'config',
      fields: CONFIG_FIELDS,
      help: 'The mount-wide KV settings: max_versions, cas_required, delete_version_after.',
      handlers: {
        read: async (ctx) => {
          const c = await repo.config(ctx.mount.uuid);
          return logical({ cas_required: c.casRequired, delete_version_after: goDuration(c.deleteVersionAfterSeconds), max_versions: c.maxVersions });
        },
        update: async (ctx) => {
          const c: KvMountConfig = { ...(await repo.config(ctx.mount.uuid)) };
          if (ctx.data.max_versions !== undefined) c.maxVersions = ctx.data.max_versions;
          if (ctx.data.cas_required !== undefined) c.casRequired = ctx.data.cas_required;
          if (ctx.data.delete_version_after !== undefined) c.deleteVersionAfterSeconds = ctx.data.delete_version_after;
          if (c.maxVersions < 0) throw badRequest('max_versions must be 0 or more');
          await repo.setConfig(ctx.mount.uuid, c);
          return null;
        },
      },
    }),
    route({
      path: 'data/*path',
      fields: {
        version: { type: 'int', query: true, description: 'Version to read (0: latest).' },
        data: { type: 'map', description: 'The secret.' },
        options: { type: 'map', description: 'cas: the current version, 0 for a new key.' },
      },
      help: 'Read a version (`?version=`), write a new one (`options.cas`), patch the latest (JSON merge patch) or soft-delete the latest.',
      handlers: {
        read: (ctx) => readLiveVersion(ctx, 'data', (value) => value),
        update: async (ctx) => {
          const { data, cas } = bodyData(ctx);
          return writeVersion(ctx, data, cas, false);
        },
        patch: async (ctx) => {
          const { data, cas } = bodyData(ctx);
          return writeVersion(ctx, data, cas, true);
        },
        delete: async (ctx) => {
          await repo.withKey(ctx.mount.uuid, ctx.params.path, false, (tx) => tx.markDeleted([tx.key.currentVersion], new Date()));
          return null;
        },
      },
      // A read selects and decrypts; nothing is written.
      pureOperations: ['read'],
      existenceCheck: async (ctx) => ((await repo.readVersion(ctx.mount.uuid, ctx.params.path, 0, { open: false }))?.key.currentVersion ?? 0) > 0,
    }),
    route({
      path: 'delete/*path',
      fields: VERSIONS_FIELD,
      help: 'Soft-delete the given versions (undelete brings them back).',
      handlers: { update: changeVersions('delete') },
    }),
    route({
      path: 'undelete/*path',
      fields: VERSIONS_FIELD,
      help: 'Undelete the given soft-deleted versions (destroyed ones stay destroyed).',
      handlers: { update: changeVersions('undelete') },
    }),
    route({
      path: 'destroy/*path',
      fields: VERSIONS_FIELD,
      help: 'Destroy the given versions: their values are removed for good.',
      handlers: { update: changeVersions('destroy') },
    }),
    route({ path: 'metadata', help: 'List the keys at the top of the mount.', handlers: { list } }),
    route({
      path: 'metadata/*path',
      fields: METADATA_FIELDS,
      help: "Read, list, write, patch or delete a key's metadata; deleting it removes every version.",
      handlers: {
        read: readMetadata,
        list,
        update: writeMetadata(false),
        patch: writeMetadata(true),
        delete: async (ctx) => {
          await repo.withKey(ctx.mount.uuid, ctx.params.path, false, (tx) => tx.deleteKey());
          return null;
        },
      },
      existenceCheck: async (ctx) => (await repo.readVersion(ctx.mount.uuid, ctx.params.path, 0, { open: false })) !== undefined,
    }),
    route({
      path: 'subkeys/*path',
      fields: {
        version: { type: 'int', query: true, description: 'Version (0: latest).' },
        depth: { type: 'int', query: true, description: 'Levels to show (0: all).' },
      },
      help: 'The structure of a version with its values replaced by null, to `depth` levels (0: all).',
      handlers: { read: (ctx) => readLiveVersion(ctx, 'subkeys', (value) => subkeys(value, ctx.data.depth ?? 0)) },
    }),
  ];
}
