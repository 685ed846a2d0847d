import { defaultTokenRole, globMatch, rolePolicies, RoleRuleError, roleTokenType } from './token-role';

describe('token roles', () => {
  const role = (over: Partial<ReturnType<typeof defaultTokenRole>>) => ({ ...defaultTokenRole('r'), ...over });

  it('glob matching is whole-value with * as any run', () => {
    expect(globMatch('dev-*', 'dev-app')).toBe(true);
    expect(globMatch('dev-*', 'prod-dev-app')).toBe(false);
    expect(globMatch('a.b', 'aXb')).toBe(false);
  });

  it('allowed policies: defaults to them, refuses others (sudo or not), adds default', () => {
    const r = role({ allowedPolicies: ['a', 'b'] });
    expect(rolePolicies(r, undefined, ['x'], false)).toEqual(['a', 'b', 'default']);
    expect(rolePolicies(r, [], ['x'], false)).toEqual(['a', 'b', 'default']);
    expect(() => rolePolicies(r, ['c'], ['x'], false, true)).toThrow(RoleRuleError);
    expect(() => rolePolicies(role({ allowedPolicies: ['response-wrapping'] }), undefined, ['root'], true)).toThrow('cannot assign policy "response-wrapping"');
    expect(rolePolicies(r, ['a'], ['x'], false)).toEqual(['a', 'default']);
    expect(() => rolePolicies(r, ['a', 'c'], ['root'], false)).toThrow(RoleRuleError);
    expect(rolePolicies(role({ allowedPoliciesGlob: ['dev-*'] }), ['dev-1'], ['x'], true)).toEqual(['dev-1']);
  });

  it('without allowed policies the parent bounds the token, unless the parent is root or the caller has sudo', () => {
    expect(() => rolePolicies(role({}), ['c'], ['a', 'default'], false)).toThrow(/subset of parent/);
    expect(rolePolicies(role({}), ['c'], ['a', 'default'], false, true)).toEqual(['c', 'default']);
    expect(() => rolePolicies(role({}), ['root'], ['a'], false, true)).toThrow(/root tokens may not be created/);
    expect(() => rolePolicies(role({ disallowedPolicies: ['c'] }), ['c'], ['a'], false, true)).toThrow(/"c" is disallowed/);
    expect(rolePolicies(role({}), undefined, ['a', 'default'], false)).toEqual(['a', 'default']);
    expect(rolePolicies(role({}), ['c'], ['root'], false)).toEqual(['c', 'default']);
    expect(() => rolePolicies(role({}), undefined, ['root'], false)).toThrow(/root tokens may not be created/);
  });

  it('disallowed policies and globs are refused, default can be disallowed', () => {
    expect(() => rolePolicies(role({ disallowedPolicies: ['admin'] }), ['admin'], ['root'], false)).toThrow(/"admin" is disallowed/);
    expect(() => rolePolicies(role({ disallowedPoliciesGlob: ['adm*'] }), ['admin'], ['root'], false)).toThrow(/disallowed/);
    expect(rolePolicies(role({ disallowedPolicies: ['default'] }), ['a'], ['root'], false)).toEqual(['a']);
  });

  it('token type follows the role setting', () => {
    expect(roleTokenType(role({}), undefined)).toBe('service');
    expect(roleTokenType(role({}), 'batch')).toBe('batch');
    expect(roleTokenType(role({ tokenType: 'default-batch' }), undefined)).toBe('batch');
    expect(roleTokenType(role({ tokenType: 'batch' }), 'batch')).toBe('batch');
    expect(() => roleTokenType(role({ tokenType: 'service' }), 'batch')).toThrow(RoleRuleError);
  });
});
