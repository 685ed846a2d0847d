import { MYSQL_DIALECT, splitStatements } from './mysql-plugin';
import { expirationOf, generateUsername, renderStatement } from './statement-template';

const values = { name: 'v-app-abc123', password: 'A1b2C3d4E5f6G7h8-xyz', expiration: '2026-11-22 10:00:00+00:00' };

describe('statement templates', () => {
  it("fills Vault's PostgreSQL creation template with driver-escaped values", () => {
    const sql = renderStatement(`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`, values);
    expect(sql).toBe(`CREATE ROLE "v-app-abc123" WITH LOGIN PASSWORD 'A1b2C3d4E5f6G7h8-xyz' VALID UNTIL '2026-11-22 10:00:00+00:00';`);
    expect(renderStatement('DROP ROLE IF EXISTS {{username}}', values)).toBe('DROP ROLE IF EXISTS "v-app-abc123"');
  });

  it('refuses values outside their alphabet and unknown placeholders', () => {
    expect(() => renderStatement('CREATE ROLE "{{name}}"', { name: 'x"; DROP TABLE t; --' })).toThrow('outside its alphabet');
    expect(() => renderStatement("PASSWORD '{{password}}'", { name: 'a', password: "p'; DROP TABLE t; --aaaaaaaaaaa" })).toThrow('outside its alphabet');
    expect(() => renderStatement('GRANT {{nmae}}', values)).toThrow('unknown placeholder');
  });

  it('generates recognisable, valid usernames and PostgreSQL expirations', () => {
    const u = generateUsername('My Role!"; --');
    expect(u).toMatch(/^v-myrole-[a-z0-9]{40,}$/);
    expect(u.length).toBe(63);
    expect(generateUsername('a-very-long-role-name-indeed', 32)).toMatch(/^v-averylongrol-[a-z0-9]{16,}$/);
    expect(generateUsername('a-very-long-role-name-indeed', 32)).toHaveLength(32);
    expect(expirationOf(new Date('2026-11-22T10:00:00.123Z'))).toBe('2026-11-22 10:00:00+00:00');
  });

  it('MySQL: backticks are identifiers, single quotes literals, double quotes refused; several statements split on ;', () => {
    const sql = renderStatement("CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT SELECT ON db.* TO `{{name}}`@'%';", values, MYSQL_DIALECT);
    expect(sql).toBe("CREATE USER 'v-app-abc123'@'%' IDENTIFIED BY 'A1b2C3d4E5f6G7h8-xyz'; GRANT SELECT ON db.* TO `v-app-abc123`@'%';");
    expect(() => renderStatement('DROP USER "{{name}}"', values, MYSQL_DIALECT)).toThrow('quoted with "');
    expect(splitStatements([sql])).toHaveLength(2);
  });
});
