import { normaliseArgs } from './args';

describe('normaliseArgs', () => {
  it('turns Vault single-dash long options into GNU style', () => {
    expect(normaliseArgs(['operator', 'init', '-key-shares=5', '-key-threshold', '3', '-format=json'])).toEqual([
      'operator',
      'init',
      '--key-shares=5',
      '--key-threshold',
      '3',
      '--format=json',
    ]);
  });
  it('leaves short options, stdin, values and everything after -- alone', () => {
    expect(normaliseArgs(['-h', '-', 'key=-value', '--format', 'json', '--', '-notanoption'])).toEqual([
      '-h',
      '-',
      'key=-value',
      '--format',
      'json',
      '--',
      '-notanoption',
    ]);
  });
});

describe('normaliseArgs with boolean flags', () => {
  const flags = new Set(['--cas-required', '--no-cas-required', '--orphan']);
  it('turns =true into the bare flag and =false into its negation, or drops it', () => {
    expect(normaliseArgs(['-cas-required=true', '-cas-required=false', '-orphan=false', '-orphan=TRUE', 'path'], flags)).toEqual([
      '--cas-required',
      '--no-cas-required',
      '--orphan',
      'path',
    ]);
  });
  it('leaves =true on options that take a value', () => {
    expect(normaliseArgs(['-renewable=false'], flags)).toEqual(['--renewable=false']);
  });
});
