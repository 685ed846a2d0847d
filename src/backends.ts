/** Every backend type the server knows, registered on the kernel's mount table. */
import { tokenPaths } from './auth/token/token.paths';
import { kvBackend } from './engines/kv/kv.backend';
import { KvRepository } from './engines/kv/kv.repository';
import { KvV2Repository } from './engines/kv/kv-v2.repository';
import { capabilitiesPaths } from './engines/sys/capabilities.paths';
import { mountPaths } from './engines/sys/mounts.paths';
import { policyPaths } from './engines/sys/policy.paths';
import { passwordPolicyPaths } from './engines/sys/password-policy.paths';
import { sealPaths } from './engines/sys/seal.paths';
import { auditPaths } from './engines/sys/audit.paths';
import { auditAnomalyPaths } from './engines/sys/audit-anomalies.paths';
import { metricsGauges, metricsPaths } from './engines/sys/metrics.paths';
import type { Kernel } from './server';
import { cubbyholeBackend } from './engines/cubbyhole/cubbyhole.paths';
import { wrappingPaths } from './engines/sys/wrapping.paths';
import { leasePaths } from './engines/sys/leases.paths';
import { databaseBackend } from './engines/database/database.backend';
import { EngineObjectRepository } from './shared/engine-objects.repository';
import { closeTargetPools } from './engines/database/plugins';
import { CertificateRepository } from './engines/pki/certificate.repository';
import { IssuerStore } from './engines/pki/issuers';
import { IssuerRepository } from './engines/pki/issuer.repository';
import { pkiBackend } from './engines/pki/pki.backend';
import { rabbitmqBackend } from './engines/rabbitmq/rabbitmq.backend';
import type { Logger } from './logger';
import { TokenRoleRepository } from './shared/token/token-role.repository';
import { lockedUsersPaths } from './engines/sys/locked-users.paths';
import { LockoutRepository } from './shared/lockout/lockout.repository';
import { LoginLockout, type ServerLockoutSettings } from './shared/lockout/lockout.service';
import { Argon2Hasher, type PasswordHasher } from './auth/userpass/password-hasher';
import { userpassBackend } from './auth/userpass/userpass.paths';
import { UserpassRepository } from './auth/userpass/userpass.repository';
import { appRoleBackend } from './auth/approle/approle.backend';
import { AppRoleHmac } from './auth/approle/approle-hmac';
import { AppRoleRepository } from './auth/approle/approle.repository';
import { certAuthBackend } from './auth/cert/cert.paths';
import type { RequestContext } from './framework/route';
import type { TokenInfo } from './kernel/token/token.store';
import { KernelSecretsRepository } from './kernel/kernel-secrets.repository';
import { introspectionPaths } from './engines/sys/introspection.paths';
import { remountPaths } from './engines/sys/remount.paths';
import { buildConfig } from './config/config';
import { sanitizedConfig, type SanitizableConfig } from './config/sanitized';

export interface BackendOptions {
  disableUnauthedRekeyEndpoints: boolean;
  /** The config file's `user_lockout` stanzas. */
  userLockout?: ServerLockoutSettings;
  /** Tests count verifications through their own; argon2id otherwise. */
  passwordHasher?: PasswordHasher;
  /** The server configuration, for sys/config/state/sanitized (defaults when absent: tests). */
  config?: SanitizableConfig;
}

export function registerBackends(kernel: Kernel, options: BackendOptions, log: Logger): void {
  const lockout = new LoginLockout(new LockoutRepository(kernel.dataSource), options.userLockout);
  const systemRoutes = [
    ...sealPaths({ seal: kernel.seal, rekey: kernel.rekey, barrier: kernel.barrier, disableUnauthedRekeyEndpoints: options.disableUnauthedRekeyEndpoints }),
    ...policyPaths(kernel.policies),
    ...passwordPolicyPaths(kernel.passwordPolicies),
    ...capabilitiesPaths(kernel.tokenStore, kernel.policies),
    ...mountPaths(kernel.mounts, kernel.policies, lockout),
    ...remountPaths(kernel.mounts),
    ...lockedUsersPaths(lockout, kernel.mounts),
    // Before auditPaths: sys/audit/anomalies/:id must win over the device route sys/audit/*path.
    ...auditAnomalyPaths({ ...kernel.audit.anomalies, broker: kernel.audit.broker, tokens: kernel.tokenStore }),
    ...auditPaths(kernel.audit.broker, kernel.audit.chain, kernel.audit.log),
    ...metricsPaths(metricsGauges(kernel.audit.anomalies.repository)),
    ...wrappingPaths(kernel.wrapper),
    ...leasePaths(kernel.leases),
    ...introspectionPaths({
      dataSource: kernel.dataSource,
      barrier: kernel.barrier,
      bus: kernel.bus,
      inFlight: kernel.inFlight,
      versions: kernel.versions,
      sanitizedConfig: () => sanitizedConfig(options.config ?? buildConfig({}, {}, {})),
    }),
  ];
  kernel.mounts.register({ type: 'system', class: 'secret', builtinPath: 'sys/', description: 'system endpoints used for control, policy and debugging', routes: () => systemRoutes });
  const checkLoginRenewal = async (token: TokenInfo, request: RequestContext) => {
    const mount = kernel.mounts.match(token.creationPath);
    if (mount?.class === 'auth') await kernel.mounts.backendOf(mount.type)?.renewLogin?.(mount, token, request);
  };
  const tokenRoutes = tokenPaths(kernel.tokenStore, new TokenRoleRepository(kernel.dataSource), (m) => log.info(m), checkLoginRenewal);
  kernel.mounts.register({ type: 'token', class: 'auth', builtinPath: 'auth/token/', description: 'token based credentials', routes: () => tokenRoutes });
  kernel.mounts.register(cubbyholeBackend(kernel.cubbyhole));
  kernel.mounts.register(
    userpassBackend({ users: new UserpassRepository(kernel.dataSource), tokens: kernel.tokenStore, barrier: kernel.barrier, hasher: options.passwordHasher ?? new Argon2Hasher(), lockout }),
  );
  const appRoleHmac = new AppRoleHmac(new KernelSecretsRepository(kernel.dataSource), kernel.barrier);
  kernel.seal.addLifecycleHook({ afterUnseal: async () => undefined, beforeSeal: () => appRoleHmac.close() });
  kernel.mounts.register(appRoleBackend({ roles: new AppRoleRepository(kernel.dataSource), hmac: appRoleHmac, barrier: kernel.barrier, tokens: kernel.tokenStore, lockout, log: (m) => log.info(m) }));
  const engineObjects = new EngineObjectRepository(kernel.dataSource, kernel.barrier, kernel.bus);
  kernel.seal.addLifecycleHook({ afterUnseal: async () => undefined, beforeSeal: () => engineObjects.clear() });
  kernel.mounts.register(certAuthBackend({ objects: engineObjects, tokens: kernel.tokenStore }));
  kernel.seal.addLifecycleHook({ afterUnseal: async () => undefined, beforeSeal: () => void closeTargetPools() });
  kernel.mounts.register(
    databaseBackend({
      objects: engineObjects,
      leasedUsernames: async (mountUuid, db) => new Set((await kernel.leases.liveLeaseMetadata(mountUuid, { db })).map((m) => String(m.username))),
      generateFromPolicy: (name) => kernel.passwordPolicies.generate(name),
      log: (m) => log.info(m),
    }),
  );
  const certificates = new CertificateRepository(kernel.dataSource);
  const issuers = new IssuerStore(engineObjects, certificates, new IssuerRepository(kernel.dataSource, kernel.barrier));
  kernel.seal.addLifecycleHook({ afterUnseal: async () => undefined, beforeSeal: () => issuers.clear() });
  kernel.mounts.register(pkiBackend({ objects: engineObjects, certificates, issuers }));
  kernel.mounts.register(rabbitmqBackend(engineObjects, (name) => kernel.passwordPolicies.generate(name)));
  kernel.mounts.register(kvBackend(new KvRepository(kernel.dataSource), new KvV2Repository(kernel.dataSource), kernel.barrier));
}
