/** The PKI secrets engine; a mount's issuers are cached until seal. */
import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Barrier } from '../../kernel/barrier/barrier';
import { KernelModule } from '../../kernel/kernel.module';
import { backendProvider } from '../../kernel/router/backend-provider';
import { SealService } from '../../kernel/seal/seal.service';
import { EngineObjectRepository } from '../../shared/engine-objects.repository';
import { SharedModule } from '../../shared/shared.module';
import { CertificateRepository } from './certificate.repository';
import { IssuerRepository } from './issuer.repository';
import { IssuerStore } from './issuers';
import { pkiBackend } from './pki.backend';

@Module({
  imports: [KernelModule, SharedModule],
  providers: [
    backendProvider(
      'pki',
      { dataSource: DataSource, barrier: Barrier, objects: EngineObjectRepository, seal: SealService },
      ({ dataSource, barrier, objects, seal }) => {
        const certificates = new CertificateRepository(dataSource);
        const issuers = new IssuerStore(objects, certificates, new IssuerRepository(dataSource, barrier));
        seal.addLifecycleHook('backends', { afterUnseal: async () => undefined, beforeSeal: () => issuers.clear() });
        return pkiBackend({ objects, certificates, issuers });
      },
    ),
  ],
})
export class PkiModule {}
