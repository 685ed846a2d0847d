/** ACL policies: the parsed document as JSONB beside the text as written. Names are lower-case and trimmed. */
import { Check, Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'policies' })
@Check('policies_name_check', "name = lower(btrim(name)) AND name <> ''")
export class PolicyEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'policies_pkey' }) name!: string;
  @Column({ name: 'policy_type', type: 'text', default: 'acl' }) policyType!: string;
  @Column({ type: 'jsonb' }) document!: unknown;
  @Column({ type: 'text' }) raw!: string;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt!: Date;
}

export const POLICY_ENTITIES = [PolicyEntity];
