import { MYSQL_DIALECT, splitStatements } from './mysql-plugin';
import { expirationOf, generatedAt, generateUsername, mountTag, renderStatement } from './statement-template';

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

  it('generates recognisable usernames carrying the mount tag and creation time', () => {
    const now = Date.UTC(2026, 10, 22, 10, 0, 0);
    const u = generateUsername('My Role!"; --', 63, 'ab12', now);
    expect(u).toMatch(/^v-myrole-[a-z0-9]{40,}-ab12[0-9a-z]{6}$/);
    expect(u.length).toBe(63);
    expect(generatedAt(u, 'ab12')).toBe(now);
    expect(generatedAt(u, 'ab13')).toBeUndefined();
    const mysql = generateUsername('a-very-long-role-name-indeed', 32, 'ab12', now);
    expect(mysql).toMatch(/^v-aver-[a-z0-9]{14}-ab12[0-9a-z]{6}$/);
    expect(generatedAt(mysql, 'ab12')).toBe(now);
    for (const foreign of ['v-app', 'v-app-ab12', 'postgres', 'v-app-0123456789abc-ab12zzzzzzzz', 'V-APP-0123456789ABC-AB12ABCDEF'])
      expect(generatedAt(foreign, 'ab12')).toBeUndefined();
    expect(mountTag('AB12cd34-0000-4000-8000-000000000000')).toBe('ab12');
    expect(expirationOf(new Date('2026-11-22T10:00:00.123Z'))).toBe('2026-11-22 10:00:00+00:00');
  });

  it('MySQL: backticks are identifiers, single quotes literals, double quotes refused; several statements split on ;', () => {
    const sql = renderStatement("CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT SELECT ON db.* TO `{{name}}`@'%';", values, MYSQL_DIALECT);
    expect(sql).toBe("CREATE USER 'v-app-abc123'@'%' IDENTIFIED BY 'A1b2C3d4E5f6G7h8-xyz'; GRANT SELECT ON db.* TO `v-app-abc123`@'%';");
    expect(() => renderStatement('DROP USER "{{name}}"', values, MYSQL_DIALECT)).toThrow('quoted with "');
    expect(splitStatements([sql])).toHaveLength(2);
  });
});
