import { normaliseArgs } from './args';

describe('normaliseArgs', () => {
  it('turns Vault single-dash long options into GNU style', () => {
    expect(normaliseArgs(['operator', 'init', '-key-shares=5', '-key-threshold', '3', '-format=json'])).toEqual(['operator', 'init', '--key-shares=5', '--key-threshold', '3', '--format=json']);
  });
  it('leaves short options, stdin, values and everything after -- alone', () => {
    expect(normaliseArgs(['-h', '-', 'key=-value', '--format', 'json', '--', '-notanoption'])).toEqual(['-h', '-', 'key=-value', '--format', 'json', '--', '-notanoption']);
  });
});
