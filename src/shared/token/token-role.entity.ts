/** Token roles (auth/token/roles/:name): the whole role as JSONB. */
import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'token_roles' })
export class TokenRoleEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'token_roles_pkey' }) name!: string;
  @Column({ type: 'jsonb' }) config!: Record<string, unknown>;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt!: Date;
}

export const TOKEN_ROLE_ENTITIES = [TokenRoleEntity];
