import { childElements, derElement, derSequence, integerMagnitude, positiveIntegerContent, readElement, readSingleElement } from './der';

describe('DER framing', () => {
  it('writes minimal lengths', () => {
    expect(derSequence([]).toString('hex')).toBe('3000');
    expect(
      derElement(0x04, [Buffer.alloc(127)])
        .subarray(0, 2)
        .toString('hex'),
    ).toBe('047f');
    expect(
      derElement(0x04, [Buffer.alloc(128)])
        .subarray(0, 3)
        .toString('hex'),
    ).toBe('048180');
    expect(
      derElement(0x04, [Buffer.alloc(256)])
        .subarray(0, 4)
        .toString('hex'),
    ).toBe('04820100');
    expect(
      derElement(0x04, [Buffer.alloc(70000)])
        .subarray(0, 5)
        .toString('hex'),
    ).toBe('0483011170');
  });

  it('reads back what it writes, children included', () => {
    const inner = [derElement(0x02, [Buffer.from([5])]), derElement(0x04, [Buffer.alloc(300, 1)])];
    const outer = derSequence(inner);
    const span = readSingleElement(outer, 0x30, 'test');
    expect(childElements(outer, span)).toEqual(inner);
  });

  it.each<[string, string, RegExp]>([
    ['truncated header', '30', /truncated/],
    ['truncated body', '300301', /truncated/],
    ['indefinite length', '3080', /indefinite/],
    ['non-minimal long form', '30810100', /non-minimal/],
    ['leading zero in length', '3082000100', /non-minimal/],
    ['multi-octet tag', '1f0100', /multi-octet/],
  ])('refuses %s', (_, hex, message) => {
    expect(() => readElement(Buffer.from(hex, 'hex'))).toThrow(message);
  });

  it('refuses trailing data, wrong tags and children overrunning their parent', () => {
    expect(() => readSingleElement(Buffer.from('300000', 'hex'), 0x30, 'x')).toThrow(/trailing/);
    expect(() => readSingleElement(Buffer.from('0400', 'hex'), 0x30, 'x')).toThrow(/tag/);
    const overrun = Buffer.from('3002040500', 'hex');
    expect(() => childElements(overrun, readElement(overrun))).toThrow(/truncated/);
  });

  it('encodes positive INTEGERs minimally and reads magnitudes back', () => {
    expect(positiveIntegerContent(Buffer.from('0001', 'hex')).toString('hex')).toBe('01');
    expect(positiveIntegerContent(Buffer.from('80', 'hex')).toString('hex')).toBe('0080');
    expect(positiveIntegerContent(Buffer.from('7f', 'hex')).toString('hex')).toBe('7f');
    expect(() => positiveIntegerContent(Buffer.from('0000', 'hex'))).toThrow(/positive/);
    expect(integerMagnitude(Buffer.from('0080', 'hex')).toString('hex')).toBe('80');
    expect(integerMagnitude(Buffer.from('00', 'hex')).toString('hex')).toBe('00');
    expect(() => integerMagnitude(Buffer.from('80', 'hex'))).toThrow(/negative/);
  });
});
