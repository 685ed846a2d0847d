/**
 * The managed_keys rows. The PIN is sealed in MANAGED_KEY_PIN, bound to the row's id: it goes in
 * and comes out of this class in the clear only (`pin()`), and a ciphertext copied to another row
 * does not open. Reads never select it unless asked.
 */
import type { DataSource, Repository } from 'typeorm';
import type { Barrier } from '../barrier/barrier';
import { badRequest } from '../errors';
import { type Ciphertext, SealedColumn } from '../barrier/sealed-column';
import { MANAGED_KEY_PIN } from '../barrier/sealed-columns';
import { ManagedKeyEntity } from './managed-key.entity';

export type ManagedKeyUsage = 'encrypt' | 'decrypt' | 'sign' | 'verify' | 'wrap' | 'unwrap' | 'mac' | 'random';

/** A managed key as stored, without its PIN. Exactly one of slot and tokenLabel; at least one of keyLabel and keyId. */
export interface ManagedKeyRecord {
  id: string;
  name: string;
  type: 'pkcs11';
  /** A kms_library name. */
  library: string;
  /** Decimal slot id. */
  slot?: string;
  tokenLabel?: string;
  keyLabel?: string;
  /** CKA_ID, lowercase hex. */
  keyId?: string;
  mechanism: number;
  keyBits?: number;
  curve?: 'P256' | 'P384' | 'P521';
  allowGenerateKey: boolean;
  allowReplaceKey: boolean;
  allowStoreKey: boolean;
  anyMount: boolean;
  usages: ManagedKeyUsage[];
}

function recordOf(r: ManagedKeyEntity): ManagedKeyRecord {
  return {
    id: r.id,
    name: r.name,
    type: 'pkcs11',
    library: r.library,
    ...(r.slot !== null ? { slot: r.slot } : {}),
    ...(r.tokenLabel !== null ? { tokenLabel: r.tokenLabel } : {}),
    ...(r.keyLabel !== null ? { keyLabel: r.keyLabel } : {}),
    ...(r.keyId !== null ? { keyId: r.keyId } : {}),
    mechanism: Number(r.mechanism),
    ...(r.keyBits !== null ? { keyBits: r.keyBits } : {}),
    ...(r.curve !== null ? { curve: r.curve as ManagedKeyRecord['curve'] } : {}),
    allowGenerateKey: r.allowGenerateKey,
    allowReplaceKey: r.allowReplaceKey,
    allowStoreKey: r.allowStoreKey,
    anyMount: r.anyMount,
    usages: r.usages as ManagedKeyUsage[],
  };
}

const WITHOUT_PIN = {
  id: true,
  name: true,
  type: true,
  library: true,
  slot: true,
  tokenLabel: true,
  keyLabel: true,
  keyId: true,
  mechanism: true,
  keyBits: true,
  curve: true,
  allowGenerateKey: true,
  allowReplaceKey: true,
  allowStoreKey: true,
  anyMount: true,
  usages: true,
} as const;

export class ManagedKeyRepository {
  private readonly pins: SealedColumn<string>;

  constructor(
    private readonly dataSource: DataSource,
    barrier: Barrier,
  ) {
    this.pins = new SealedColumn(MANAGED_KEY_PIN, barrier);
  }

  private get rows(): Repository<ManagedKeyEntity> {
    return this.dataSource.getRepository(ManagedKeyEntity);
  }

  async names(): Promise<string[]> {
    const rows = await this.rows.find({ select: { id: true, name: true }, order: { name: 'ASC' } });
    return rows.map((r) => r.name);
  }

  async byName(name: string): Promise<ManagedKeyRecord | undefined> {
    const r = await this.rows.findOne({ select: WITHOUT_PIN, where: { name } });
    return r ? recordOf(r) : undefined;
  }

  async byId(id: string): Promise<ManagedKeyRecord | undefined> {
    const r = await this.rows.findOne({ select: WITHOUT_PIN, where: { id } });
    return r ? recordOf(r) : undefined;
  }

  /** The key's PIN, opened; undefined when the row is gone. */
  async pin(id: string): Promise<string | undefined> {
    const r = await this.rows.findOne({ select: { id: true, pinCiphertext: true }, where: { id } });
    return r ? (await this.pins.open(id, r.pinCiphertext as Ciphertext)).toString('utf8') : undefined;
  }

  /**
   * Inserts or replaces the row with `record.id`; `pin` undefined keeps the stored one (an update
   * that does not change it). The name is unique: a concurrent create of the same name fails on
   * managed_keys_name_key.
   */
  async save(record: ManagedKeyRecord, pin: string | undefined): Promise<void> {
    const values = {
      name: record.name,
      type: record.type,
      library: record.library,
      slot: record.slot ?? null,
      tokenLabel: record.tokenLabel ?? null,
      keyLabel: record.keyLabel ?? null,
      keyId: record.keyId ?? null,
      mechanism: String(record.mechanism),
      keyBits: record.keyBits ?? null,
      curve: record.curve ?? null,
      allowGenerateKey: record.allowGenerateKey,
      allowReplaceKey: record.allowReplaceKey,
      allowStoreKey: record.allowStoreKey,
      anyMount: record.anyMount,
      usages: record.usages,
    };
    if (pin === undefined) {
      await this.rows.update({ id: record.id }, { ...values, updatedAt: () => 'now()' });
      return;
    }
    const pinCiphertext = await this.pins.seal(record.id, Buffer.from(pin, 'utf8'));
    try {
      await this.rows.upsert({ id: record.id, ...values, pinCiphertext, updatedAt: () => 'now()' }, ['id']);
    } catch (err) {
      // Another request created the same name meanwhile (the row's id differs from the one read).
      if ((err as { driverError?: { constraint?: string } }).driverError?.constraint === 'managed_keys_name_key')
        throw badRequest(`managed key "${record.name}" was created by another request meanwhile: retry`);
      throw err;
    }
  }

  /** False when there was no such key. */
  async delete(name: string): Promise<boolean> {
    return ((await this.rows.delete({ name })).affected ?? 0) > 0;
  }
}
