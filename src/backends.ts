/** Every backend type the server knows, registered on the kernel's mount table. */
import { tokenPaths } from './auth/token/token.paths';
import { kvBackend } from './engines/kv/kv.backend';
import { KvRepository } from './engines/kv/kv.repository';
import { KvV2Repository } from './engines/kv/kv-v2.repository';
import { capabilitiesPaths } from './engines/sys/capabilities.paths';
import { mountPaths } from './engines/sys/mounts.paths';
import { policyPaths } from './engines/sys/policy.paths';
import { sealPaths } from './engines/sys/seal.paths';
import { auditPaths } from './engines/sys/audit.paths';
import { auditAnomalyPaths } from './engines/sys/audit-anomalies.paths';
import { metricsGauges, metricsPaths } from './engines/sys/metrics.paths';
import type { Kernel } from './server';
import type { Logger } from './logger';
import { TokenRoleRepository } from './auth/token/token-role.repository';
import { appRoleBackend } from './auth/approle/approle.backend';
import { AppRoleHmac } from './auth/approle/approle-hmac';
import { AppRoleRepository } from './auth/approle/approle.repository';
import { KernelSecretsRepository } from './kernel/kernel-secrets.repository';

export function registerBackends(kernel: Kernel, options: { disableUnauthedRekeyEndpoints: boolean }, log: Logger): void {
  const systemRoutes = [
    ...sealPaths({ seal: kernel.seal, rekey: kernel.rekey, barrier: kernel.barrier, disableUnauthedRekeyEndpoints: options.disableUnauthedRekeyEndpoints }),
    ...policyPaths(kernel.policies),
    ...capabilitiesPaths(kernel.tokenStore, kernel.policies),
    ...mountPaths(kernel.mounts, kernel.policies),
    // Before auditPaths: sys/audit/anomalies/:id must win over the device route sys/audit/*path.
    ...auditAnomalyPaths({ ...kernel.audit.anomalies, broker: kernel.audit.broker, tokens: kernel.tokenStore }),
    ...auditPaths(kernel.audit.broker, kernel.audit.chain, kernel.audit.log),
    ...metricsPaths(metricsGauges(kernel.audit.anomalies.repository)),
  ];
  kernel.mounts.register({ type: 'system', class: 'secret', builtinPath: 'sys/', description: 'system endpoints used for control, policy and debugging', routes: () => systemRoutes });
  const tokenRoutes = tokenPaths(kernel.tokenStore, new TokenRoleRepository(kernel.dataSource), (m) => log.info(m));
  kernel.mounts.register({ type: 'token', class: 'auth', builtinPath: 'auth/token/', description: 'token based credentials', routes: () => tokenRoutes });
  const appRoleHmac = new AppRoleHmac(new KernelSecretsRepository(kernel.dataSource), kernel.barrier);
  kernel.seal.addLifecycleHook({ afterUnseal: async () => undefined, beforeSeal: () => appRoleHmac.close() });
  kernel.mounts.register(appRoleBackend({ roles: new AppRoleRepository(kernel.dataSource), hmac: appRoleHmac, barrier: kernel.barrier, tokens: kernel.tokenStore, log: (m) => log.info(m) }));
  kernel.mounts.register(kvBackend(new KvRepository(kernel.dataSource), new KvV2Repository(kernel.dataSource), kernel.barrier));
}
