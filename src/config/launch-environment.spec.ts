import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAUNCH_ENVIRONMENT, withoutLaunchEnvironment } from './launch-environment';

const ROOT = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

describe('LAUNCH_ENVIRONMENT', () => {
  const entries = Object.entries(LAUNCH_ENVIRONMENT);

  it('is what `npm start` sets for the server', () => {
    const start = (JSON.parse(read('package.json')) as { scripts: { start: string } }).scripts.start;
    expect(start).toContain(`${entries.map(([name, value]) => `${name}=${value}`).join(' ')} node dist/src/main.js server`);
  });

  it.each(['docker/Dockerfile', 'docker/Dockerfile.softhsm'])('is what %s sets', (file) => {
    for (const [name, value] of entries) expect(read(file)).toMatch(new RegExp(`^ENV ${name}=${value}$`, 'm'));
  });

  it('is left out of the environment of programs the server starts', () => {
    const env = withoutLaunchEnvironment({ ...LAUNCH_ENVIRONMENT, PATH: '/bin' });
    expect(env).toEqual({ PATH: '/bin' });
  });
});
