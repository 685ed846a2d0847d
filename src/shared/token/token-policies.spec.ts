import { childPolicies, TokenPolicyError } from './token-policies';

describe('child token policies without a role (Vault handleCreateCommon)', () => {
  const parent = ['ops', 'default'];
  const make = (requested: string[] | undefined, over: { parentPolicies?: string[]; sudo?: boolean; noDefault?: boolean } = {}) =>
    childPolicies({ requested, parentPolicies: over.parentPolicies ?? parent, sudo: over.sudo ?? false, noDefault: over.noDefault ?? false });

  it("without sudo: a subset of the parent's, default added when the parent has it", () => {
    expect(make(['ops'])).toEqual(['ops', 'default']);
    expect(make(['ops'], { noDefault: true })).toEqual(['ops']);
    expect(make(['ops'], { parentPolicies: ['ops'] })).toEqual(['ops']);
    expect(() => make(['admin'])).toThrow('child policies must be subset of parent (admin not held)');
    // `default` counts in the comparison, as in Vault.
    expect(() => make(['default'], { parentPolicies: ['ops'] })).toThrow(TokenPolicyError);
  });

  it('with sudo on the create path: any policies, default added unless no_default_policy', () => {
    expect(make(['admin'], { sudo: true })).toEqual(['admin', 'default']);
    expect(make(['admin'], { sudo: true, parentPolicies: ['ops'] })).toEqual(['admin', 'default']);
    expect(make(['admin', 'default'], { sudo: true, noDefault: true })).toEqual(['admin']);
  });

  it("none asked for (absent or empty): the parent's, default only if the parent has it", () => {
    expect(make(undefined)).toEqual(['ops', 'default']);
    expect(make([])).toEqual(['ops', 'default']);
    expect(make(undefined, { parentPolicies: ['ops'], sudo: true })).toEqual(['ops']);
    expect(make(undefined, { noDefault: true })).toEqual(['ops']);
    expect(make(undefined, { parentPolicies: ['root'], sudo: true })).toEqual(['root']);
    expect(() => make(undefined, { parentPolicies: ['default'], noDefault: true })).toThrow('token must have at least one policy');
  });

  it('root only from a root parent, alone, never with default; sudo is not enough', () => {
    expect(make(['root'], { parentPolicies: ['root'], sudo: true })).toEqual(['root']);
    expect(() => make(['root'], { sudo: true })).toThrow('root tokens may not be created without parent token being root');
    expect(() => make(['root'])).toThrow(/subset of parent/);
    expect(() => make(['root', 'ops'], { parentPolicies: ['root'], sudo: true })).toThrow('the root policy cannot be combined with other policies');
  });

  it('response-wrapping is never assigned, even by root', () => {
    expect(() => make(['response-wrapping'], { parentPolicies: ['root'], sudo: true, noDefault: true })).toThrow('cannot assign policy "response-wrapping"');
  });
});
