/**
 * sys/ routes that describe the server itself: host-info, in-flight-req, internal/counters/tokens,
 * version-history, config/state/sanitized, and the automatic barrier rotation settings
 * (rotate/config). Vault restricts the first three and the configuration to the root namespace;
 * SecretHub, which has no namespaces, asks for sudo on host-info, in-flight-req and the
 * configuration instead (they show the machine, other clients' addresses and the server's layout).
 */
import type { DataSource } from 'typeorm';
import type { Fields } from '../../framework/fields';
import { logical, raw, route, type RouteDefinition } from '../../framework/route';
import type { Barrier } from '../../kernel/barrier/barrier';
import { ROTATION_MAX_OPERATIONS, rotationConfigResponse, updatedRotationConfig } from '../../kernel/barrier/rotation-config';
import type { InvalidationBus } from '../../kernel/cluster/invalidation-bus';
import type { InFlightRequests } from '../../kernel/router/in-flight';
import { versionHistoryResponse, type VersionHistory } from '../../kernel/version-history';
import { collectHostInfo } from './host-info';

export interface IntrospectionDeps {
  dataSource: DataSource;
  barrier: Barrier;
  bus: InvalidationBus;
  inFlight: InFlightRequests;
  versions: VersionHistory;
  /** The sanitized server configuration (built once from the typed configuration). */
  sanitizedConfig: () => Record<string, unknown>;
}

const ROTATE_CONFIG_FIELDS = {
  // Vault's TypeInt64; bounds are checked in the handler with Vault's message (the storage column is bigint).
  max_operations: {
    type: 'int',
    min: -Number.MAX_SAFE_INTEGER,
    max: Number.MAX_SAFE_INTEGER,
    description: `Encryptions after which the barrier key is rotated (1000000 to ${ROTATION_MAX_OPERATIONS}).`,
  },
  interval: { type: 'duration', description: 'Age after which the barrier key is rotated (at least 24h; 0 turns time-based rotation off).' },
  enabled: { type: 'bool', description: 'Whether automatic rotation by these settings is on.' },
} as const satisfies Fields;

async function countServiceTokens(dataSource: DataSource): Promise<number> {
  const rows: { n: string }[] = await dataSource.query(
    "SELECT count(*) AS n FROM tokens WHERE token_type = 'service' AND (expires_at IS NULL OR expires_at > now())",
  );
  return Number(rows[0]?.n ?? 0);
}

export function introspectionPaths(deps: IntrospectionDeps): RouteDefinition[] {
  const { barrier } = deps;
  const versionHistory = async () => logical(versionHistoryResponse(await deps.versions.list()));
  return [
    {
      path: 'host-info',
      auth: 'sudo',
      pureOperations: ['read'],
      help: 'Information about the host: CPU, CPU times, disks, host, memory (gopsutil field names, as Vault).',
      handlers: {
        read: async () => {
          const info = await collectHostInfo();
          return logical(info.data, info.warnings.length > 0 ? info.warnings : undefined);
        },
      },
    },
    {
      path: 'in-flight-req',
      auth: 'sudo',
      pureOperations: ['read'],
      help: 'The requests this node is handling now: request id → start_time, client_remote_address, request_path, request_method, client_id.',
      handlers: { read: async () => raw(200, deps.inFlight.snapshot()) },
    },
    {
      path: 'internal/counters/tokens',
      pureOperations: ['read'],
      help: 'The number of service tokens that exist (batch tokens are not stored and not counted).',
      handlers: { read: async () => logical({ counters: { service_tokens: { total: await countServiceTokens(deps.dataSource) } } }) },
    },
    {
      path: 'version-history',
      pureOperations: ['read', 'list'],
      help: 'The server versions that have run on this storage, oldest first, with build date, install time and the version before.',
      handlers: { list: versionHistory, read: versionHistory },
    },
    {
      path: 'config/state/sanitized',
      auth: 'sudo',
      pureOperations: ['read'],
      help: "The server's configuration without secrets (no storage connection URL, no seal settings).",
      handlers: { read: async () => logical(deps.sanitizedConfig()) },
    },
    ...['rotate/config', 'rotate/keyring/config'].map((path) =>
      route({
        path,
        fields: ROTATE_CONFIG_FIELDS,
        help: 'Automatic barrier key rotation: after max_operations encryptions or once the key is interval old. The server setting barrier_max_encryptions_per_term stays a ceiling.',
        handlers: {
          read: async () => logical(rotationConfigResponse(barrier.rotationConfig())),
          update: async (ctx) => {
            const next = updatedRotationConfig(barrier.rotationConfig(), ctx.data);
            await barrier.setRotationConfig(next);
            await deps.bus.publish('barrier');
            return null;
          },
        },
      }),
    ),
  ];
}
