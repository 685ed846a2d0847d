/** The transit secrets engine. */
import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Barrier } from '../../kernel/barrier/barrier';
import { InvalidationBus } from '../../kernel/cluster/invalidation-bus';
import { KernelModule } from '../../kernel/kernel.module';
import { ManagedKeys } from '../../kernel/managed-keys/managed-keys';
import { backendProvider } from '../../kernel/router/backend-provider';
import { SealService } from '../../kernel/seal/seal.service';
import { LOGGER } from '../../logger';
import { KeyInventory } from '../../kernel/key-management/key-health';
import { MountTable } from '../../kernel/router/mount-table';
import { SystemAudit } from '../../kernel/system-audit';
import { hsmReachability, summaryKeyOf } from './key-lifecycle';
import { transitBackend } from './transit.backend';
import { autoRotatePass } from './transit-auto-rotate';
import { newVersion } from './transit-keys.paths';
import { TransitKeyStore } from './transit-key-store';
import { TransitManagedKeyAccess } from './transit-managed-keys';
import { TransitRepository } from './transit.repository';
import { rotateForUsage } from './transit-rotation';
import { TransitUsage } from './transit-usage';

@Module({
  imports: [KernelModule],
  providers: [
    backendProvider(
      'transit',
      {
        dataSource: DataSource,
        barrier: Barrier,
        bus: InvalidationBus,
        seal: SealService,
        logger: LOGGER,
        inventory: KeyInventory,
        mounts: MountTable,
        managedKeys: ManagedKeys,
        systemAudit: SystemAudit,
      },
      ({ dataSource, barrier, bus, seal, logger, inventory, mounts, managedKeys, systemAudit }) => {
        const store = new TransitKeyStore(new TransitRepository(dataSource, barrier), bus);
        const log = (message: string) => logger.warn(message);
        const failedRotationsReported = new Set<string>();
        const usage = new TransitUsage(
          (k, delta) => store.addUsage(k.mountUuid, k.name, k.version, delta),
          (k) => rotateForUsage(store, k, log, failedRotationsReported, systemAudit),
          log,
        );
        // Key material leaves memory at seal; counted usage is written first.
        seal.addLifecycleHook('backends', {
          afterUnseal: async () => undefined,
          beforeSeal: async () => {
            await usage.flushAll();
            store.clear();
          },
        });
        // The server-wide key summary (sys/key-management/summary) sees every transit mount's keys.
        const reachable = hsmReachability(managedKeys);
        inventory.register(async () =>
          Promise.all(
            (await store.repository.summaryRows()).map(async (r) => ({
              ...summaryKeyOf(r, mounts.byUuid(r.mountUuid)?.path ?? `${r.mountUuid}/`),
              hsmReachable: await reachable(r.managedKeyId),
            })),
          ),
        );
        const backend = transitBackend({ store, usage, managed: new TransitManagedKeyAccess(managedKeys), hsmReachable: reachable });
        // Vault's periodic function: automatic rotation of the mount's keys (transit-auto-rotate.ts).
        return {
          ...backend,
          periodic: (mount, fence) => autoRotatePass(store, mount, newVersion, { audit: systemAudit, log, reportedFailures: failedRotationsReported, fence }),
        };
      },
    ),
  ],
})
export class TransitModule {}
