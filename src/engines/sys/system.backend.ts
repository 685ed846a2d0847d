/** The system backend, built in at sys/: seal, policies, mounts, audit, leases, wrapping, introspection. */
import type { DataSource } from 'typeorm';
import type { AnomalyRepository } from '../../audit/anomaly.repository';
import type { AnomalyScanner } from '../../audit/anomaly-scanner';
import type { AuditBroker } from '../../audit/audit-broker';
import type { AuditLogRepository } from '../../audit/audit-log.repository';
import type { AuditChainWriter } from '../../audit/chain-writer';
import type { BackendDefinition } from '../../framework/backend';
import type { Barrier } from '../../kernel/barrier/barrier';
import type { InvalidationBus } from '../../kernel/cluster/invalidation-bus';
import type { LeaderLease } from '../../kernel/cluster/leader-lease';
import type { NodeRegistry } from '../../kernel/cluster/node-registry';
import type { ExpirationManager } from '../../kernel/leases/expiration-manager';
import type { PasswordPolicies } from '../../kernel/password-policy/password-policies';
import type { PolicyStore } from '../../kernel/policy/policy-store.service';
import type { InFlightRequests } from '../../kernel/router/in-flight';
import type { ManagedKeys } from '../../kernel/managed-keys/managed-keys';
import type { MountTable } from '../../kernel/router/mount-table';
import type { GenerateRootService } from '../../kernel/seal/generate-root.service';
import type { RecoveryRekeyService, RekeyService } from '../../kernel/seal/rekey.service';
import type { SealService } from '../../kernel/seal/seal.service';
import type { TokenStore } from '../../kernel/token/token-store.service';
import type { VersionHistory } from '../../kernel/version-history';
import type { ResponseWrapper } from '../../kernel/wrapping/response-wrapper';
import type { LoginLockout } from '../../shared/lockout/lockout.service';
import { auditPaths } from './audit.paths';
import { auditAnomalyPaths } from './audit-anomalies.paths';
import { capabilitiesPaths } from './capabilities.paths';
import { generateRootPaths } from './generate-root.paths';
import { introspectionPaths } from './introspection.paths';
import { leasePaths } from './leases.paths';
import { lockedUsersPaths } from './locked-users.paths';
import { keyManagementPaths } from './key-management.paths';
import type { KeyInventory } from '../../kernel/key-management/key-health';
import { managedKeyPaths } from './managed-keys.paths';
import { metricsGauges, metricsPaths } from './metrics.paths';
import { mountPaths } from './mounts.paths';
import { passwordPolicyPaths } from './password-policy.paths';
import { policyPaths } from './policy.paths';
import { remountPaths } from './remount.paths';
import { rekeyPaths } from './rekey.paths';
import { sealPaths } from './seal.paths';
import { haPaths } from './ha.paths';
import { wrappingPaths } from './wrapping.paths';

export interface SystemBackendDeps {
  keyInventory: KeyInventory;
  dataSource: DataSource;
  barrier: Barrier;
  bus: InvalidationBus;
  seal: SealService;
  lease: LeaderLease;
  registry: NodeRegistry;
  rekey: RekeyService;
  recoveryRekey: RecoveryRekeyService;
  generateRoot: GenerateRootService;
  tokens: TokenStore;
  policies: PolicyStore;
  passwordPolicies: PasswordPolicies;
  mounts: MountTable;
  leases: ExpirationManager;
  wrapper: ResponseWrapper;
  inFlight: InFlightRequests;
  versions: VersionHistory;
  lockout: LoginLockout;
  managedKeys: ManagedKeys;
  audit: { broker: AuditBroker; chain: AuditChainWriter; log: AuditLogRepository; anomalies: AnomalyRepository; scanner: AnomalyScanner };
  /** OpenBao's listener flag; true (default): starting or cancelling a rekey needs a sudo token. */
  disableUnauthedRekeyEndpoints: boolean;
  /** OpenBao's listener flag; true: starting or cancelling generate-root needs a sudo token (default false). */
  disableUnauthedGenerateRootEndpoints: boolean;
  /** The sanitized server configuration (sys/config/state/sanitized). */
  sanitizedConfig: () => Record<string, unknown>;
}

export function systemBackend(deps: SystemBackendDeps): BackendDefinition {
  const { audit } = deps;
  const routes = [
    ...sealPaths({ seal: deps.seal, barrier: deps.barrier }),
    ...haPaths({ lease: deps.lease, registry: deps.registry }),
    ...rekeyPaths({ seal: deps.seal, rekey: deps.rekey, recoveryRekey: deps.recoveryRekey, disableUnauthedRekeyEndpoints: deps.disableUnauthedRekeyEndpoints }),
    ...generateRootPaths({ generateRoot: deps.generateRoot, disableUnauthedGenerateRootEndpoints: deps.disableUnauthedGenerateRootEndpoints }),
    ...policyPaths(deps.policies),
    ...passwordPolicyPaths(deps.passwordPolicies),
    ...capabilitiesPaths(deps.tokens, deps.policies),
    ...mountPaths(deps.mounts, deps.policies, deps.lockout),
    ...remountPaths(deps.mounts),
    ...managedKeyPaths(deps.managedKeys),
    ...keyManagementPaths(deps.keyInventory),
    ...lockedUsersPaths(deps.lockout, deps.mounts),
    // Before auditPaths: sys/audit/anomalies/:id must win over the device route sys/audit/*path.
    ...auditAnomalyPaths({ repository: audit.anomalies, scanner: audit.scanner, broker: audit.broker, tokens: deps.tokens }),
    ...auditPaths(audit.broker, audit.chain, audit.log),
    ...metricsPaths(metricsGauges(audit.anomalies)),
    ...wrappingPaths(deps.wrapper),
    ...leasePaths(deps.leases),
    ...introspectionPaths({
      dataSource: deps.dataSource,
      barrier: deps.barrier,
      bus: deps.bus,
      inFlight: deps.inFlight,
      versions: deps.versions,
      sanitizedConfig: deps.sanitizedConfig,
    }),
  ];
  return { type: 'system', class: 'secret', builtinPath: 'sys/', description: 'system endpoints used for control, policy and debugging', routes: () => routes };
}
