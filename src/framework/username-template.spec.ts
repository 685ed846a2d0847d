import { goTimeFormat, MAX_TEMPLATE_STRING, parseTemplate, renderTemplate, TemplateError } from './username-template';

const NOW = new Date('2026-12-05T09:07:03.042Z');
const render = (t: string, data: Record<string, string> = { DisplayName: 'token-app.prod', RoleName: 'writer' }) => renderTemplate(parseTemplate(t), data, NOW);
const refused = (t: string, data?: Record<string, string>) => {
  try {
    render(t, data);
  } catch (e) {
    expect(e).toBeInstanceOf(TemplateError);
    return (e as Error).message;
  }
  throw new Error('accepted');
};

describe('username templates (Vault sdk/helper/template subset)', () => {
  it('renders Vault’s shipped templates', () => {
    const rabbit = render(
      '{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 15) (.RoleName | truncate 15) (random 20) (unix_time) | replace "." "-" | truncate 100 }}',
    );
    expect(rabbit).toMatch(/^v-token-app-prod-writer-[A-Za-z0-9]{20}-1796461623$/);
    const influx = render(
      '{{ printf "v_%s_%s_%s_%s" (.DisplayName | truncate 15) (.RoleName | truncate 15) (random 20) (unix_time) | truncate 100 | replace "-" "_" | lowercase }}',
    );
    expect(influx).toMatch(/^v_token_app\.prod_writer_[a-z0-9]{20}_1796461623$/);
    expect(render('{{ printf "%s-%s" (.DisplayName) (uuid) }}')).toMatch(/^token-app\.prod-[0-9a-f-]{36}$/);
  });

  it('functions: truncate_sha256, upper/lower case, sha256, base64, timestamp, unix_time_millis, literal text and trim markers', () => {
    expect(render('{{ .RoleName | uppercase }}')).toBe('WRITER');
    expect(render('{{ "ABC" | lowercase }}')).toBe('abc');
    expect(render('{{ sha256 "a" }}')).toBe('ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb');
    expect(render('{{ base64 .RoleName }}')).toBe('d3JpdGVy');
    expect(render('{{ truncate_sha256 10 "abcdefghijklmnop" }}')).toMatch(/^ab[0-9a-f]{8}$/);
    expect(render('{{ truncate_sha256 20 "short" }}')).toBe('short');
    expect(render('{{ timestamp "2006-01-02T15:04:05.000Z07:00" }}')).toBe('2026-12-05T09:07:03.042Z');
    expect(render('{{ unix_time_millis }}')).toBe(String(NOW.getTime()));
    expect(render('user-{{ .RoleName }}-x')).toBe('user-writer-x');
    expect(render('a  {{- .RoleName -}}  b')).toBe('awriterb');
    expect(render('{{ printf `%s%%` .RoleName }}')).toBe('writer%');
    expect(goTimeFormat('Mon Jan _2 03:04:05 PM MST 2006', NOW)).toBe('Sat Dec  5 09:07:03 AM UTC 2026');
  });

  it('refuses what it does not support, in fixed words that never quote the template', () => {
    for (const t of [
      '{{ if .RoleName }}x{{ end }}',
      '{{ .RoleName',
      '{{ }}',
      '{{ nosuchfunc-secret }}',
      '{{ printf "%x" .RoleName }}',
      '{{ printf "%s" }}',
      '{{ (random 5 }}',
      '{{ "a" "b" }}',
      '{{ $x := 1 }}',
    ]) {
      expect(refused(t)).not.toMatch(/secret|RoleName|nosuch/);
    }
    expect(refused('{{ .Missing }}')).toBe('unknown field in an action');
    expect(refused('{{ random 100000000 }}')).toBe('random: the length must be from 1 to 1024');
    expect(refused('{{ truncate "x" .RoleName }}')).toBe('truncate: expected an integer argument');
    expect(refused('{{ truncate_sha256 8 .RoleName }}')).toBe('truncate_sha256: the length must be greater than 8');
  });

  it('bounds every string a template makes', () => {
    const big =
      '{{ random 1024 | replace "a" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" | replace "a" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" }}';
    expect(() => render(big)).toThrow(TemplateError);
    expect(() => render(`{{ printf "%s%s%s%s%s" (random 1000) (random 1000) (random 1000) (random 1000) (random 1000) }}`)).toThrow(
      `a value is longer than ${MAX_TEMPLATE_STRING} characters`,
    );
  });
});
