import { maskConnectionUrl } from './plugins';

describe('maskConnectionUrl (what a connection read shows)', () => {
  it('masks a password written into the URL, as Vault does', () => {
    expect(maskConnectionUrl('postgresql://root:s3cret@db:5432/app')).toBe('postgresql://root:*****@db:5432/app');
    expect(maskConnectionUrl('postgres://root:p%40ss:w@[::1]:5432/app?sslmode=disable')).toBe('postgres://root:*****@[::1]:5432/app?sslmode=disable');
    // The userinfo ends at the authority's last "@" (an unencoded "@" in the password).
    expect(maskConnectionUrl('postgresql://root:p@ss@db/app')).toBe('postgresql://root:*****@db/app');
    expect(maskConnectionUrl('root:s3cret@tcp(db:3306)/app')).toBe('root:*****@tcp(db:3306)/app');
    expect(maskConnectionUrl('root:s3:c@ret@tcp(db)/')).toBe('root:*****@tcp(db)/');
  });

  it("masks a password query parameter (the PostgreSQL driver's), whatever the key's encoding", () => {
    expect(maskConnectionUrl('postgresql://root@db/app?application_name=x&password=s3cret#f')).toBe(
      'postgresql://root@db/app?application_name=x&password=*****#f',
    );
    expect(maskConnectionUrl('postgresql://root@db/app?pass%77ord=s3cret')).toBe('postgresql://root@db/app?pass%77ord=*****');
    expect(maskConnectionUrl('postgresql://root:a@db/app?password=b')).toBe('postgresql://root:*****@db/app?password=*****');
  });

  it('leaves placeholders and URLs without a password as they are', () => {
    for (const url of [
      'postgresql://{{username}}:{{password}}@db:5432/app',
      'postgresql://{{username}}:{{ password }}@db/app?password={{password}}',
      '{{username}}:{{password}}@tcp(db:3306)/',
      'postgresql://root@db/app',
      'postgresql://db:5432/app',
      'postgresql://root:@db/app',
      'postgresql://db:5432/a@b',
      'not a url',
      '',
    ]) {
      expect(maskConnectionUrl(url)).toBe(url);
    }
  });
});
