/**
 * Every TypeORM entity: one per table the migrations create (test/medium/entities.test.ts checks
 * that they match the migrated schema). Composition level, since entities live beside their domains
 * in every layer. The schema itself changes only through migrations/.
 */
import { ANOMALY_ENTITIES } from './audit/anomaly.entity';
import { AUDIT_ENTITIES } from './audit/audit.entity';
import { APPROLE_ENTITIES } from './auth/approle/approle.entity';
import { USERPASS_ENTITIES } from './auth/userpass/userpass.entity';
import { KV_ENTITIES } from './engines/kv/kv.entity';
import { PKI_ENTITIES } from './engines/pki/pki.entity';
import { TRANSIT_ENTITIES } from './engines/transit/transit.entity';
import { BARRIER_ENTITIES } from './kernel/barrier/barrier.entity';
import { CUBBYHOLE_ENTITIES } from './kernel/cubbyhole/cubbyhole.entity';
import { KERNEL_SECRETS_ENTITIES } from './kernel/kernel-secrets.entity';
import { LEASE_ENTITIES } from './kernel/leases/lease.entity';
import { MANAGED_KEY_ENTITIES } from './kernel/managed-keys/managed-key.entity';
import { PASSWORD_POLICY_ENTITIES } from './kernel/password-policy/password-policy.entity';
import { POLICY_ENTITIES } from './kernel/policy/policy.entity';
import { MOUNT_ENTITIES } from './kernel/router/mount.entity';
import { SEAL_ENTITIES } from './kernel/seal/seal.entity';
import { TOKEN_ENTITIES } from './kernel/token/token.entity';
import { VERSION_HISTORY_ENTITIES } from './kernel/version-history.entity';
import { HA_ENTITIES } from './kernel/cluster/ha.entity';
import { ENGINE_OBJECT_ENTITIES } from './shared/engine-object.entity';
import { LOCKOUT_ENTITIES } from './shared/lockout/lockout.entity';
import { TOKEN_ROLE_ENTITIES } from './shared/token/token-role.entity';

export const ALL_ENTITIES = [
  ...SEAL_ENTITIES,
  ...BARRIER_ENTITIES,
  ...KERNEL_SECRETS_ENTITIES,
  ...VERSION_HISTORY_ENTITIES,
  ...HA_ENTITIES,
  ...TOKEN_ENTITIES,
  ...POLICY_ENTITIES,
  ...PASSWORD_POLICY_ENTITIES,
  ...MOUNT_ENTITIES,
  ...MANAGED_KEY_ENTITIES,
  ...LEASE_ENTITIES,
  ...CUBBYHOLE_ENTITIES,
  ...TOKEN_ROLE_ENTITIES,
  ...LOCKOUT_ENTITIES,
  ...ENGINE_OBJECT_ENTITIES,
  ...KV_ENTITIES,
  ...PKI_ENTITIES,
  ...TRANSIT_ENTITIES,
  ...APPROLE_ENTITIES,
  ...USERPASS_ENTITIES,
  ...AUDIT_ENTITIES,
  ...ANOMALY_ENTITIES,
];
