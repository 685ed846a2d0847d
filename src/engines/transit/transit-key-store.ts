/**
 * The one way the transit paths reach keys: policies and opened versions by (mount, name), and
 * every change to them. Reads may be served from a cache; every change goes through here so the
 * cache can drop the key (on this node and, through the invalidation bus, on the others) after it
 * commits.
 *
 * Invariants: a change is visible to the next read on this node once its promise resolves; key
 * material handed out is never mutated by the store.
 */
import type { KeyVersionMaterial } from '../../crypto/transit/key-types';
import type { NewTransitKey, NewTransitVersion, TransitKeyPolicy, TransitMountConfig, TransitPolicyChange, TransitRepository } from './transit.repository';

export class TransitKeyStore {
  constructor(readonly repository: TransitRepository) {}

  names(mountUuid: string): Promise<string[]> {
    return this.repository.names(mountUuid);
  }

  policy(mountUuid: string, name: string): Promise<TransitKeyPolicy | undefined> {
    return this.repository.policy(mountUuid, name);
  }

  material(mountUuid: string, name: string, version: number): Promise<KeyVersionMaterial | undefined> {
    return this.repository.keyMaterial(mountUuid, name, version);
  }

  create(mountUuid: string, name: string, key: NewTransitKey, versions: NewTransitVersion[]): Promise<boolean> {
    return this.repository.create(mountUuid, name, key, versions);
  }

  update(
    mountUuid: string,
    name: string,
    decide: (current: TransitKeyPolicy) => { append?: NewTransitVersion[]; change?: TransitPolicyChange },
  ): Promise<TransitKeyPolicy | undefined> {
    return this.repository.update(mountUuid, name, decide);
  }

  delete(mountUuid: string, name: string): Promise<void> {
    return this.repository.delete(mountUuid, name);
  }

  restore(mountUuid: string, name: string, key: NewTransitKey, versions: (NewTransitVersion & { version: number })[], force: boolean): Promise<boolean> {
    return this.repository.restore(mountUuid, name, key, versions, force);
  }

  replaceVersion(
    mountUuid: string,
    name: string,
    version: number,
    decide: (current: TransitKeyPolicy) => NewTransitVersion,
  ): Promise<TransitKeyPolicy | undefined> {
    return this.repository.replaceVersion(mountUuid, name, version, decide);
  }

  mountConfig(mountUuid: string): Promise<TransitMountConfig> {
    return this.repository.mountConfig(mountUuid);
  }

  setMountConfig(mountUuid: string, change: Partial<TransitMountConfig>): Promise<TransitMountConfig> {
    return this.repository.setMountConfig(mountUuid, change);
  }
}
