/** Vault's managed keys (PKCS#11 only), one row per name; the PIN is barrier ciphertext (MANAGED_KEY_PIN). Mirrors migration 1734050000000. */
import { Check, Column, Entity, PrimaryColumn, Unique } from 'typeorm';

@Entity({ name: 'managed_keys' })
@Unique('managed_keys_name_key', ['name'])
@Check('managed_keys_name_check', "name ~ '^[a-z0-9][a-z0-9_.-]*$'")
@Check('managed_keys_type_check', "type = 'pkcs11'")
@Check('managed_keys_library_check', "library <> ''")
@Check('managed_keys_token_check', '(slot IS NULL) <> (token_label IS NULL)')
@Check('managed_keys_slot_check', "slot ~ '^[0-9]{1,20}$'")
@Check('managed_keys_key_check', 'key_label IS NOT NULL OR key_id IS NOT NULL')
@Check('managed_keys_key_id_check', "key_id ~ '^([0-9a-f]{2})+$'")
@Check('managed_keys_mechanism_check', 'mechanism >= 0')
@Check('managed_keys_key_bits_check', 'key_bits > 0')
@Check('managed_keys_curve_check', "curve IN ('P256', 'P384', 'P521')")
@Check(
  'managed_keys_usages_check',
  "cardinality(usages) > 0 AND usages <@ ARRAY['encrypt', 'decrypt', 'sign', 'verify', 'wrap', 'unwrap', 'mac', 'random']::text[]",
)
export class ManagedKeyEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'managed_keys_pkey' }) id!: string;
  @Column({ type: 'text', collation: 'C' }) name!: string;
  @Column({ type: 'text' }) type!: string;
  @Column({ type: 'text' }) library!: string;
  @Column({ type: 'text', nullable: true }) slot!: string | null;
  @Column({ name: 'token_label', type: 'text', nullable: true }) tokenLabel!: string | null;
  @Column({ name: 'pin_ciphertext', type: 'bytea', comment: 'barrier ciphertext of the PKCS#11 user PIN, bound to the row id' }) pinCiphertext!: Buffer;
  @Column({ name: 'key_label', type: 'text', nullable: true }) keyLabel!: string | null;
  @Column({ name: 'key_id', type: 'text', nullable: true }) keyId!: string | null;
  /** bigint: TypeORM gives it as a string. */
  @Column({ type: 'bigint' }) mechanism!: string;
  @Column({ name: 'key_bits', type: 'integer', nullable: true }) keyBits!: number | null;
  @Column({ type: 'text', nullable: true }) curve!: string | null;
  @Column({ name: 'allow_generate_key', type: 'boolean', default: false }) allowGenerateKey!: boolean;
  @Column({ name: 'allow_replace_key', type: 'boolean', default: false }) allowReplaceKey!: boolean;
  @Column({ name: 'allow_store_key', type: 'boolean', default: false }) allowStoreKey!: boolean;
  @Column({ name: 'any_mount', type: 'boolean', default: false }) anyMount!: boolean;
  @Column({ type: 'text', array: true }) usages!: string[];
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt!: Date;
}

export const MANAGED_KEY_ENTITIES = [ManagedKeyEntity];
