import { clientAddress, type ForwardedForConfig } from './forwarded-for';

const trusted: ForwardedForConfig = { authorizedAddrs: ['10.0.0.0/8'], hopSkips: 0, rejectNotAuthorized: true, rejectNotPresent: true };

describe('clientAddress (X-Forwarded-For)', () => {
  it('ignores the header entirely when no proxy is trusted', () => {
    expect(clientAddress('192.0.2.1', '203.0.113.9', { ...trusted, authorizedAddrs: [] })).toBe('192.0.2.1');
  });

  it('takes the right-most entry (after hop skips) from a trusted proxy, over several headers', () => {
    expect(clientAddress('10.1.2.3', '198.51.100.7, 203.0.113.9', trusted)).toBe('203.0.113.9');
    expect(clientAddress('::ffff:10.1.2.3', ['198.51.100.7', '203.0.113.9'], { ...trusted, hopSkips: 1 })).toBe('198.51.100.7');
    expect(clientAddress('10.1.2.3', '[2001:db8::1]', trusted)).toBe('2001:db8::1');
  });

  it("refuses a header from an untrusted address, or uses the connection's address when told not to refuse", () => {
    expect(() => clientAddress('192.0.2.1', '203.0.113.9', trusted)).toThrow('client address not authorized for x-forwarded-for');
    expect(clientAddress('192.0.2.1', '203.0.113.9', { ...trusted, rejectNotAuthorized: false })).toBe('192.0.2.1');
  });

  it('refuses a missing header when configured to, a hop count past the chain, and a non-address', () => {
    expect(() => clientAddress('10.1.2.3', undefined, trusted)).toThrow('missing x-forwarded-for header');
    expect(clientAddress('10.1.2.3', undefined, { ...trusted, rejectNotPresent: false })).toBe('10.1.2.3');
    expect(() => clientAddress('10.1.2.3', '203.0.113.9', { ...trusted, hopSkips: 1 })).toThrow('hops to skip would skip before earliest chain link');
    expect(() => clientAddress('10.1.2.3', 'evil.example', trusted)).toThrow('not an IP address');
  });
});
