/** Every migration, in order. Listed explicitly so the build, the CLI and jest load the same set. */
import { KernelFoundation1732300000000 } from './1732300000000-kernel-foundation';
import { Policies1732400000000 } from './1732400000000-policies';
import { TokenLifecycle1732500000000 } from './1732500000000-token-lifecycle';
import { Mounts1732600000000 } from './1732600000000-mounts';
import { Secrets1732700000000 } from './1732700000000-secrets';
import { TokenRoles1732800000000 } from './1732800000000-token-roles';
import { Audit1732900000000 } from './1732900000000-audit';
import { AuditRetention1732950000000 } from './1732950000000-audit-retention';
import { AuditAnomalies1733000000000 } from './1733000000000-audit-anomalies';
import { AppRole1733100000000 } from './1733100000000-approle';
import { Userpass1733200000000 } from './1733200000000-userpass';
import { Cubbyhole1733300000000 } from './1733300000000-cubbyhole';
import { Leases1733400000000 } from './1733400000000-leases';
import { DatabaseEngine1733500000000 } from './1733500000000-database-engine';
import { PasswordPolicies1733600000000 } from './1733600000000-password-policies';
import { DatabaseStaticRoles1733650000000 } from './1733650000000-database-static-roles';
import { EngineObjects1733700000000 } from './1733700000000-engine-objects';
import { PkiCertificates1733800000000 } from './1733800000000-pki-certificates';
import { AuditInlineRows1733900000000 } from './1733900000000-audit-inline-rows';
import { AppRoleSecretIdTombstones1733960000000 } from './1733960000000-approle-secret-id-tombstones';
import { PkiIssuersKeys1734000000000 } from './1734000000000-pki-issuers-keys';
import { SysState1734010000000 } from './1734010000000-sys-state';
import { DropSecretRotationColumns1734020000000 } from './1734020000000-drop-secret-rotation-columns';
import { DropCertificatePrivateKey1734030000000 } from './1734030000000-drop-certificate-private-key';
import { SealPkcs111734040000000 } from './1734040000000-seal-pkcs11';
import { ManagedKeys1734050000000 } from './1734050000000-managed-keys';
import { PkiManagedKeys1734060000000 } from './1734060000000-pki-managed-keys';
import { TransitKeys1734070000000 } from './1734070000000-transit-keys';
import { TransitKeyOptions1734080000000 } from './1734080000000-transit-key-options';
import { TransitKeyManagement1734090000000 } from './1734090000000-transit-key-management';
import { HaLeader1734100000000 } from './1734100000000-ha-leader';
import { RekeyOperations1734110000000 } from './1734110000000-rekey-operations';
import { GenerateRootAttempts1734120000000 } from './1734120000000-generate-root-attempts';
import { LeaseClaims1734130000000 } from './1734130000000-lease-claims';

export const MIGRATIONS = [
  KernelFoundation1732300000000,
  Policies1732400000000,
  TokenLifecycle1732500000000,
  Mounts1732600000000,
  Secrets1732700000000,
  TokenRoles1732800000000,
  Audit1732900000000,
  AuditRetention1732950000000,
  AuditAnomalies1733000000000,
  AppRole1733100000000,
  Userpass1733200000000,
  Cubbyhole1733300000000,
  Leases1733400000000,
  DatabaseEngine1733500000000,
  PasswordPolicies1733600000000,
  DatabaseStaticRoles1733650000000,
  EngineObjects1733700000000,
  PkiCertificates1733800000000,
  AuditInlineRows1733900000000,
  AppRoleSecretIdTombstones1733960000000,
  PkiIssuersKeys1734000000000,
  SysState1734010000000,
  DropSecretRotationColumns1734020000000,
  DropCertificatePrivateKey1734030000000,
  SealPkcs111734040000000,
  ManagedKeys1734050000000,
  PkiManagedKeys1734060000000,
  TransitKeys1734070000000,
  TransitKeyOptions1734080000000,
  TransitKeyManagement1734090000000,
  HaLeader1734100000000,
  RekeyOperations1734110000000,
  GenerateRootAttempts1734120000000,
  LeaseClaims1734130000000,
];
