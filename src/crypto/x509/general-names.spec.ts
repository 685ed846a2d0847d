import { ipFromBytes, ipToBytes } from './general-names';

describe('IP addresses', () => {
  it.each<[string, string, string]>([
    ['10.0.0.1', '0a000001', '10.0.0.1'],
    ['::1', '00000000000000000000000000000001', '::1'],
    ['::', '00000000000000000000000000000000', '::'],
    ['2001:DB8::1', '20010db8000000000000000000000001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
    ['fe80::', 'fe800000000000000000000000000000', 'fe80::'],
    ['::ffff:192.0.2.1', 'c0000201', '192.0.2.1'],
    ['::ffff:c000:0201', 'c0000201', '192.0.2.1'],
    ['64:ff9b::192.0.2.1', '0064ff9b0000000000000000c0000201', '64:ff9b::c000:201'],
  ])('%s -> %s -> %s (as Go prints it)', (text, hex, printed) => {
    const bytes = ipToBytes(text);
    expect(bytes.toString('hex')).toBe(hex);
    expect(ipFromBytes(bytes)).toBe(printed);
  });

  it('prints a 16-octet IPv4-mapped address as IPv4', () => {
    expect(ipFromBytes(Buffer.from('00000000000000000000ffff0a000001', 'hex'))).toBe('10.0.0.1');
  });

  it.each(['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', 'fe80::1%eth0', '1::2::3', 'example.com', '10.0.0.0/8'])('refuses %p', (text) => {
    expect(() => ipToBytes(text)).toThrow(/not a valid IP address/);
  });

  it('refuses octet strings of other lengths', () => {
    expect(() => ipFromBytes(Buffer.alloc(8))).toThrow(/4 or 16 octets/);
  });
});
