/** The `transit` secrets engine type (Vault's): encryption as a service with named keys that never leave the server. */
import type { BackendDefinition } from '../../framework/backend';
import { autoRotatePass } from './transit-auto-rotate';
import type { TransitDeps } from './transit-common';
import { transitEncryptPaths } from './transit-encrypt.paths';
import { newVersion, transitKeyPaths } from './transit-keys.paths';
import { transitOpsPaths } from './transit-ops.paths';

export function transitBackend(deps: TransitDeps): BackendDefinition {
  const routes = [...transitKeyPaths(deps), ...transitEncryptPaths(deps), ...transitOpsPaths(deps)];
  return {
    type: 'transit',
    class: 'secret',
    description: 'encryption as a service (Vault transit)',
    routes: () => routes,
    periodic: (mount) => autoRotatePass(deps.store, mount, newVersion),
  };
}
