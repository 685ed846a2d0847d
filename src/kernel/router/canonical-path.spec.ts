import { ApiError } from '../errors';
import { canonicalPath } from './canonical-path';

const refused = (p: string) => {
  try {
    canonicalPath(p);
  } catch (err) {
    return err instanceof ApiError && err.status === 400;
  }
  return false;
};

describe('canonicalPath', () => {
  it('keeps clean paths, including a trailing slash', () => {
    expect(canonicalPath('secret/data/foo')).toBe('secret/data/foo');
    expect(canonicalPath('secret/metadata/')).toBe('secret/metadata/');
    expect(canonicalPath('sys/policy/my%20policy')).toBe('sys/policy/my policy');
  });
  it.each([
    'secret/../sys/seal',
    'secret/./x',
    'secret//x',
    '/secret',
    'secret/%2e%2e/x',
    'secret/%2E%2E/x',
    'a%2Fb',
    'a%2fb',
    'a\\b',
    'a%5Cb',
    'secret/x.',
    'secret/%00',
    'a/%zz',
    'secret/x/..',
  ])('refuses %s', (p) => expect(refused(p)).toBe(true));
});
