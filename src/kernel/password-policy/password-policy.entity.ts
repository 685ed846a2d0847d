/** Password policies as written (HCL or JSON), in clear; a name is one non-empty path segment. */
import { Check, Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'password_policies' })
@Check('password_policies_name_check', "name <> '' AND position('/' IN name) = 0")
export class PasswordPolicyEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'password_policies_pkey' }) name!: string;
  @Column({ type: 'text' }) policy!: string;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt!: Date;
}

export const PASSWORD_POLICY_ENTITIES = [PasswordPolicyEntity];
