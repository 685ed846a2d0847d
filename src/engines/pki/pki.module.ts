/** The PKI secrets engine; a mount's issuers (and its keys opened on HSMs) are cached until seal. */
import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Barrier } from '../../kernel/barrier/barrier';
import { ManagedKeyRepository } from '../../kernel/managed-keys/managed-key.repository';
import { ManagedKeys } from '../../kernel/managed-keys/managed-keys';
import { MountTable } from '../../kernel/router/mount-table';
import { KernelModule } from '../../kernel/kernel.module';
import { backendProvider } from '../../kernel/router/backend-provider';
import { SealService } from '../../kernel/seal/seal.service';
import { EngineObjectRepository } from '../../shared/engine-objects.repository';
import { SharedModule } from '../../shared/shared.module';
import { CertificateRepository } from './certificate.repository';
import { IssuerRepository } from './issuer.repository';
import { IssuerStore } from './issuers';
import { pkiBackend } from './pki.backend';
import { PkiManagedKeys } from './pki-managed-keys';

@Module({
  imports: [KernelModule, SharedModule],
  providers: [
    backendProvider(
      'pki',
      {
        dataSource: DataSource,
        barrier: Barrier,
        objects: EngineObjectRepository,
        seal: SealService,
        keys: ManagedKeys,
        registry: ManagedKeyRepository,
        mounts: MountTable,
      },
      ({ dataSource, barrier, objects, seal, keys, registry, mounts }) => {
        const certificates = new CertificateRepository(dataSource);
        const managed = new PkiManagedKeys({ keys, registry, mounts });
        const issuers = new IssuerStore(objects, certificates, new IssuerRepository(dataSource, barrier), managed);
        seal.addLifecycleHook('backends', { afterUnseal: async () => undefined, beforeSeal: () => issuers.clear() });
        return pkiBackend({ objects, certificates, issuers });
      },
    ),
  ],
})
export class PkiModule {}
