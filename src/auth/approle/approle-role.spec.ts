import { cidrWithin } from '../../kernel/cidr';
import { applyRoleFields, defaultAppRole, loginTokenType, normaliseRoleName, parseSecretIdMetadata, secretIdCidrs, secretIdLimits } from './approle-role';

describe('AppRole roles', () => {
  const role = defaultAppRole('r', 'id');

  it("secret ID limits: the role's by default; less may be asked, more or unlimited under a limit is refused", () => {
    expect(secretIdLimits({ secretIdTtl: 600, secretIdNumUses: 3 }, {})).toEqual({ ttlSeconds: 600, numUses: 3 });
    expect(secretIdLimits({ secretIdTtl: 600, secretIdNumUses: 3 }, { ttl: 60, numUses: 1 })).toEqual({ ttlSeconds: 60, numUses: 1 });
    expect(() => secretIdLimits({ secretIdTtl: 600, secretIdNumUses: 3 }, { numUses: 4 })).toThrow(
      "num_uses cannot be higher than the role's secret_id_num_uses",
    );
    expect(() => secretIdLimits({ secretIdTtl: 600, secretIdNumUses: 3 }, { numUses: 0 })).toThrow(/num_uses cannot be higher/);
    expect(() => secretIdLimits({ secretIdTtl: 600, secretIdNumUses: 0 }, { ttl: 0 })).toThrow("ttl cannot be longer than the role's secret_id_ttl");
    expect(() => secretIdLimits({ secretIdTtl: 600, secretIdNumUses: 0 }, { ttl: 601 })).toThrow(/ttl cannot be longer/);
    expect(() => secretIdLimits({ secretIdTtl: 0, secretIdNumUses: 0 }, { numUses: -1 })).toThrow('num_uses cannot be negative');
    expect(secretIdLimits({ secretIdTtl: 0, secretIdNumUses: 0 }, { ttl: 99999, numUses: 7 })).toEqual({ ttlSeconds: 99999, numUses: 7 });
  });

  it("secret ID CIDRs must lie within the role's", () => {
    expect(secretIdCidrs(['10.1.2.0/24', '10.1.3.4'], ['10.1.0.0/16'], 'cidr_list')).toEqual(['10.1.2.0/24', '10.1.3.4']);
    expect(() => secretIdCidrs(['10.0.0.0/8'], ['10.1.0.0/16'], 'cidr_list')).toThrow(/failed to verify the CIDR restrictions/);
    expect(() => secretIdCidrs(['nonsense'], [], 'cidr_list')).toThrow('invalid CIDR in cidr_list');
    expect(secretIdCidrs(undefined, ['10.0.0.0/8'], 'cidr_list')).toEqual([]);
    expect(cidrWithin('2001:db8:1::/48', ['2001:db8::/32'])).toBe(true);
    expect(cidrWithin('2001:db8::/32', ['10.0.0.0/8'])).toBe(false);
  });

  it('a role write needs a login constraint, refuses root and keeps what it does not name', () => {
    expect(() => applyRoleFields(role, { bind_secret_id: false })).toThrow('at least one constraint should be enabled on the role');
    expect(applyRoleFields(role, { bind_secret_id: false, token_bound_cidrs: ['10.0.0.0/8'] }).bindSecretId).toBe(false);
    expect(() => applyRoleFields(role, { token_policies: ['root'] })).toThrow(/root/);
    expect(() => applyRoleFields(role, { policies: ['ROOT'] })).toThrow(/invalid policy name/);
    const next = applyRoleFields(applyRoleFields(role, { token_policies: ['B', 'a', 'a'], token_ttl: 60 }), { secret_id_num_uses: 2 });
    expect(next).toMatchObject({ tokenPolicies: ['b', 'a'], tokenTtl: 60, secretIdNumUses: 2, roleId: 'id' });
    expect(() => applyRoleFields(role, { token_ttl: 120, token_max_ttl: 60 })).toThrow("'token_ttl' cannot be greater than 'token_max_ttl'");
  });

  it('role names fold case; metadata is a JSON object of strings; token type follows role then mount', () => {
    expect(normaliseRoleName(' My-App ')).toBe('my-app');
    expect(() => normaliseRoleName('a b')).toThrow('invalid role name');
    expect(parseSecretIdMetadata('{"a":"1"}')).toEqual({ a: '1' });
    expect(parseSecretIdMetadata({ b: '2' })).toEqual({ b: '2' });
    expect(parseSecretIdMetadata(undefined)).toEqual({});
    expect(() => parseSecretIdMetadata('{"a":1}')).toThrow(/failed to parse metadata/);
    expect(() => parseSecretIdMetadata('[1]')).toThrow(/failed to parse metadata/);
    expect(loginTokenType('default', undefined)).toBe('service');
    expect(loginTokenType('default', 'default-batch')).toBe('batch');
    expect(loginTokenType('batch', 'default-service')).toBe('batch');
    expect(loginTokenType('service', 'batch')).toBe('service');
  });
});
