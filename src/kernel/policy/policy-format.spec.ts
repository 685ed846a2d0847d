import { formatPolicy } from './policy-format';
import { parsePolicy } from './policy-parser';

describe('formatPolicy', () => {
  it('prints canonical blocks that parse to the same rules', () => {
    const messy = `path "secret/*" {capabilities=["read","list"]}
# comment
path   "auth/token/create" {
capabilities = ["update"]
    allowed_parameters = { "policies" = ["a", "b"], "ttl" = [] }
  max_wrapping_ttl = "90s"
}`;
    const out = formatPolicy(messy);
    expect(out).toBe(`path "secret/*" {
  capabilities = ["read", "list"]
}

path "auth/token/create" {
  capabilities = ["update"]
  allowed_parameters = {
    "policies" = ["a", "b"]
    "ttl" = []
  }
  max_wrapping_ttl = "90s"
}
`);
    expect(parsePolicy(out)).toEqual(parsePolicy(messy));
  });
});
