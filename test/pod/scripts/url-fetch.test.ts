import * as fs from 'fs';
import * as path from 'path';
import { urlFetchEnv, urlFetchScript } from '../../../src/pod/scripts';
import {
  ConnectProxy,
  createPki,
  createSandbox,
  FileServer,
  Pki,
  runScript,
  Sandbox,
  SHELLS,
  startConnectProxy,
  startFileServer,
  watchProcArgv,
} from '../../fixtures';

const TOKEN = 'Bearer tok_SECRET_42';
const SPEC = 'openapi: 3.0.0\ninfo:\n  title: fixture\n';

let sb: Sandbox;
let pki: Pki;
let srv: FileServer;
let proxy: ConnectProxy;
let headersFile: string;

beforeAll(async () => {
  sb = createSandbox('koc-url-fetch-');
  pki = createPki(path.join(sb.dir, 'pki'));
  [srv, proxy] = await Promise.all([
    startFileServer({ pki, files: { '/specs/openapi.yaml': SPEC, '/private/doc.md': '# private\n', '/v2.txt': 'v2\n' } }),
    startConnectProxy(),
  ]);
  srv.protectedPaths.set('/private/doc.md', { header: 'authorization', value: TOKEN });
  headersFile = path.join(sb.mkdir('headers'), 'headers');
  fs.writeFileSync(headersFile, `Authorization: ${TOKEN}\nX-Extra: 1\n`);
});

afterAll(async () => {
  await Promise.all([srv?.stop(), proxy?.stop()]);
  sb?.cleanup();
});

describe.each(SHELLS)('url-fetch under %s', (shell) => {
  function env(o: { source: string; dest: string; headersFile?: string }, extra: Record<string, string | undefined> = {}) {
    const e: Record<string, string | undefined> = Object.fromEntries(
      [...urlFetchEnv({ contextName: 'api-spec', source: o.source, dest: o.dest }), ['URL_HEADERS_FILE', o.headersFile], ['RETRY_DELAY', '0']],
    );
    return { CUSTOM_CA_CERT_PATH: pki.caCert, ...e, ...extra };
  }
  const run = (e: Record<string, string | undefined>) => runScript(sb, shell, urlFetchScript(), e);

  test('fetches over HTTPS with the custom CA into a new directory, mode 0644, no temp file left', async () => {
    const dir = sb.mkdir('ws');
    const dest = path.join(dir, 'specs', 'nested', 'openapi.yaml');
    const r = await run(env({ source: srv.url('/specs/openapi.yaml'), dest }));
    expect(r.code).toBe(0);
    expect(fs.readFileSync(dest, 'utf8')).toBe(SPEC);
    expect(fs.statSync(dest).mode & 0o777).toBe(0o644);
    expect(fs.readdirSync(path.dirname(dest))).toEqual(['openapi.yaml']);
    expect(r.output).toContain(`url-fetch[api-spec]: fetched ${srv.url('/specs/openapi.yaml')} into ${dest}`);
    expect(fs.readdirSync(sb.tmp)).toEqual([]);
  });

  test('replaces an existing file; a failed fetch leaves it untouched', async () => {
    const dest = path.join(sb.mkdir('ws'), 'doc.txt');
    fs.writeFileSync(dest, 'old\n');
    expect((await run(env({ source: srv.url('/v2.txt'), dest }))).code).toBe(0);
    expect(fs.readFileSync(dest, 'utf8')).toBe('v2\n');
    const r = await run(env({ source: srv.url('/missing.txt'), dest }));
    expect(r.code).toBe(1);
    expect(fs.readFileSync(dest, 'utf8')).toBe('v2\n');
    expect(fs.readdirSync(path.dirname(dest))).toEqual(['doc.txt']);
  });

  test('HTTP 404 fails at once, naming the context, the URL and the status', async () => {
    const dest = path.join(sb.mkdir('ws'), 'x');
    const before = srv.requests.length;
    const r = await run(env({ source: srv.url('/nope.yaml'), dest }, { RETRY_DELAY: '5' }));
    expect(r.code).toBe(1);
    expect(r.output).toContain(`url-fetch[api-spec]: error: cannot fetch ${srv.url('/nope.yaml')}: HTTP 404`);
    expect(srv.requests.length - before).toBe(1);
    expect(fs.existsSync(dest)).toBe(false);
  });

  test('without CUSTOM_CA_CERT_PATH TLS verification fails', async () => {
    const dest = path.join(sb.mkdir('ws'), 'x');
    const r = await run(env({ source: srv.url('/v2.txt'), dest }, { CUSTOM_CA_CERT_PATH: undefined }));
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/url-fetch\[api-spec\]: error: cannot fetch https:\/\/127\.0\.0\.1:\d+\/v2\.txt: TLS error/);
    expect(fs.existsSync(dest)).toBe(false);
  });

  test('through HTTPS_PROXY (CONNECT recorded); NO_PROXY=127.0.0.1 bypasses it', async () => {
    const before = proxy.connects.length;
    const r = await run(env({ source: srv.url('/v2.txt'), dest: path.join(sb.mkdir('ws'), 'x') }, { HTTPS_PROXY: proxy.url }));
    expect(r.code).toBe(0);
    expect(proxy.connects.slice(before)).toEqual([`127.0.0.1:${srv.port}`]);
    const r2 = await run(env({ source: srv.url('/v2.txt'), dest: path.join(sb.mkdir('ws'), 'x') }, {
      HTTPS_PROXY: proxy.url, https_proxy: proxy.url, NO_PROXY: '127.0.0.1', no_proxy: '127.0.0.1',
    }));
    expect(r2.code).toBe(0);
    expect(proxy.connects.length).toBe(before + 1);
  });

  test('URL_HEADERS_FILE sends headers without exposing them in argv or the log', async () => {
    const dest = path.join(sb.mkdir('ws'), 'doc.md');
    fs.writeFileSync(sb.argvLog, '');
    const watch = watchProcArgv(['tok_SECRET_42']);
    const r = await run(env({ source: srv.url('/private/doc.md'), dest, headersFile }));
    const hits = await watch.stop();
    expect(r.code).toBe(0);
    expect(fs.readFileSync(dest, 'utf8')).toBe('# private\n');
    expect(hits).toEqual([]);
    expect(fs.readFileSync(sb.argvLog, 'utf8')).toContain(`-H @${headersFile}`);
    expect(fs.readFileSync(sb.argvLog, 'utf8')).not.toContain('tok_SECRET_42');
    expect(r.output).not.toContain('tok_SECRET_42');
    const r2 = await run(env({ source: srv.url('/private/doc.md'), dest: path.join(sb.mkdir('ws'), 'doc.md') }));
    expect(r2.code).toBe(1);
    expect(r2.output).toContain('HTTP 401');
  });

  test('retries 503 and follows redirects', async () => {
    srv.failNext(2);
    const dest = path.join(sb.mkdir('ws'), 'x');
    const r = await run(env({ source: srv.url('/v2.txt'), dest }));
    expect(r.code).toBe(0);
    expect(r.output).toContain('failed (attempt 2 of 3), retrying in 0s');
    expect(fs.readFileSync(dest, 'utf8')).toBe('v2\n');
    const r2 = await run(env({ source: srv.url('/redirect/v2.txt'), dest: path.join(sb.mkdir('ws'), 'y') }));
    expect(r2.code).toBe(0);
  });

  test('an unreachable server fails after RETRY_ATTEMPTS', async () => {
    const r = await run(env({ source: 'https://127.0.0.1:1/x', dest: path.join(sb.mkdir('ws'), 'x') }, { RETRY_ATTEMPTS: '2' }));
    expect(r.code).toBe(1);
    expect(r.output).toContain('fetch failed after 2 attempts');
    expect(r.output).toContain('url-fetch[api-spec]: error: cannot fetch https://127.0.0.1:1/x: curl exit 7');
  });

  test('rejects other schemes and relative paths; redacts userinfo', async () => {
    const r = await run(env({ source: 'file:///etc/passwd', dest: path.join(sb.mkdir('ws'), 'x') }));
    expect(r.code).toBe(1);
    expect(r.output).toContain('URL_SOURCE must be an http:// or https:// URL');
    const r2 = await run(env({ source: srv.url('/v2.txt'), dest: 'rel/x' }));
    expect(r2.code).toBe(1);
    expect(r2.output).toContain('URL_DEST must be an absolute path');
    const r3 = await run(env({ source: `https://u:pw_SECRET@127.0.0.1:${srv.port}/nope`, dest: path.join(sb.mkdir('ws'), 'x') }));
    expect(r3.code).toBe(1);
    expect(r3.output).not.toContain('pw_SECRET');
    expect(r3.output).toContain('https://***@127.0.0.1');
  });
});
