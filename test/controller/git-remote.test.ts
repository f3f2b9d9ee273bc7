/**
 * lsRemote against the HTTPS git fixture (private CA, Basic-auth private repository) and the recording CONNECT proxy.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { GitRemoteError, lsRemote, redactUrl, resolveRef, type LsRemoteOptions } from '../../src/controller/remotes/git-remote';
import {
  ConnectProxy,
  createPki,
  GIT_PAT,
  GIT_USER,
  GitServer,
  Pki,
  Sandbox,
  startConnectProxy,
  useGitHosting,
  watchProcArgv,
} from '../fixtures';

const hosting = useGitHosting({ prefix: 'koc-ls-remote-' });
let sb: Sandbox;
let pki: Pki;
let srv: GitServer;
let proxy: ConnectProxy;
let ca: string;

beforeAll(() => {
  ({ sb, pki, srv, proxy, caPem: ca } = hosting);
});

const creds = { username: GIT_USER, password: GIT_PAT };
const hello = () => srv.repos.hello;
const secret = () => srv.repos.secret;
const ls = (o: Partial<LsRemoteOptions> & { repository: string; ref: string }) => lsRemote({ caPem: ca, ...o });

async function failure(p: Promise<unknown>): Promise<GitRemoteError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(GitRemoteError);
    return e as GitRemoteError;
  }
  throw new Error('expected a GitRemoteError');
}

describe('ref resolution (the pods\' git-sync rules)', () => {
  test('branch, HEAD, refs/heads/..., tags (annotated peeled to its commit), lightweight tag', async () => {
    const c = hello().commits;
    const url = hello().url;
    expect(await ls({ repository: url, ref: 'main' })).toBe(c.c3);
    expect(await ls({ repository: url, ref: 'feature' })).toBe(c.f1);
    expect(await ls({ repository: url, ref: 'HEAD' })).toBe(c.c3);
    expect(await ls({ repository: url, ref: 'refs/heads/feature' })).toBe(c.f1);
    expect(await ls({ repository: url, ref: 'v1.0' })).toBe(c.c2);
    expect(await ls({ repository: url, ref: 'refs/tags/v1.0' })).toBe(c.c2);
    expect(await ls({ repository: url, ref: 'v0.1' })).toBe(c.c1);
  });

  test('a full commit id passes through without contacting the remote', async () => {
    const before = srv.requests.length;
    const sha = 'a'.repeat(40);
    expect(await ls({ repository: hello().url, ref: sha })).toBe(sha);
    expect(await ls({ repository: hello().url, ref: 'b'.repeat(64) })).toBe('b'.repeat(64));
    expect(srv.requests.length).toBe(before);
  });

  test('an unknown ref or an abbreviated commit is refNotFound, naming the repository', async () => {
    const e = await failure(ls({ repository: hello().url, ref: 'nope' }));
    expect(e.reason).toBe('refNotFound');
    expect(e.message).toContain(hello().url);
    expect(e.message).toMatch(/ref 'nope' not found \(looked for a branch, then a tag\)/);
    const short = await failure(ls({ repository: hello().url, ref: hello().commits.c1.slice(0, 7) }));
    expect(short.message).toMatch(/full 40-hex id/);
  });

  test('resolveRef prefers the branch, then the peeled tag; ignores longer refs that end alike', () => {
    const out = [
      `${'1'.repeat(40)}\trefs/heads/x/refs/heads/main`,
      `${'2'.repeat(40)}\trefs/tags/main`,
      `${'3'.repeat(40)}\trefs/heads/main`,
      `${'4'.repeat(40)}\trefs/tags/v1`,
      `${'5'.repeat(40)}\trefs/tags/v1^{}`,
    ].join('\n');
    expect(resolveRef(out, 'main')).toBe('3'.repeat(40));
    expect(resolveRef(out, 'v1')).toBe('5'.repeat(40));
    expect(resolveRef(out, 'refs/tags/v1')).toBe('5'.repeat(40));
    expect(resolveRef(out, 'other')).toBeUndefined();
  });
});

describe('private repositories, CA, proxy', () => {
  test('credentials through the helper: no credentials → auth error; wrong token → auth error; right → the commit', async () => {
    const url = secret().url;
    const none = await failure(ls({ repository: url, ref: 'main' }));
    expect(none.reason).toBe('auth');
    expect(none.message).toMatch(/needs credentials \(set git.secretRef/);
    const wrong = await failure(ls({ repository: url, ref: 'main', credentials: { username: GIT_USER, password: 'wrong-token-123' } }));
    expect(wrong.reason).toBe('auth');
    expect(wrong.message).toMatch(/refused/);
    expect(wrong.message).not.toContain('wrong-token-123');
    expect(await ls({ repository: url, ref: 'main', credentials: creds })).toBe(secret().commits.p2);
    // a trailing newline (as in many Secrets) is dropped
    expect(await ls({ repository: url, ref: 'main', credentials: { username: `${GIT_USER}\n`, password: `${GIT_PAT}\r\n` } })).toBe(secret().commits.p2);
  });

  test('the secret is never in argv or in any process environment, and the temporary files are gone afterwards', async () => {
    const tmpDir = sb.mkdir('tmp');
    fs.writeFileSync(sb.argvLog, '');
    const watch = watchProcArgv([GIT_PAT]);
    for (let i = 0; i < 5; i++) {
      expect(await ls({ repository: secret().url, ref: 'main', credentials: creds, path: `${sb.shimDir}:${process.env.PATH}`, tmpDir })).toBe(secret().commits.p2);
    }
    expect(await watch.stop()).toEqual([]);
    const argv = fs.readFileSync(sb.argvLog, 'utf8');
    expect(argv).toMatch(/^git ls-remote -- https:\/\/127\.0\.0\.1:\d+\/private\/secret\.git refs\/heads\/main refs\/tags\/main refs\/tags\/main\^{}$/m);
    expect(argv).not.toContain(GIT_PAT);
    expect(fs.readdirSync(tmpDir)).toEqual([]);
  });

  test('credentials go only to the repository\'s origin: a proxy that asks for auth never gets them', async () => {
    const authProxy = await startConnectProxy({ auth: { user: 'proxy-user', pass: 'proxy-pass' } });
    try {
      const e = await failure(ls({ repository: secret().url, ref: 'main', credentials: creds, proxy: { httpsProxy: authProxy.bareUrl } }));
      expect(e.reason).toBe('proxy');
      expect(e.message).toMatch(/requires authentication/);
      // with the proxy's own credentials in its URL it works, and the message of a failure never shows them
      expect(await ls({ repository: secret().url, ref: 'main', credentials: creds, proxy: { httpsProxy: authProxy.url } })).toBe(secret().commits.p2);
    } finally {
      await authProxy.stop();
    }
    // a proxy URL with a user but no password makes git ask the credential helpers for the proxy's password: ours
    // must not answer (it is scoped to the repository's origin), so no Proxy-Authorization ever carries the token
    const seen: string[] = [];
    const trap = net.createServer((sock) => {
      sock.on('error', () => undefined);
      sock.on('data', (d) => {
        seen.push(d.toString());
        sock.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="p"\r\nContent-Length: 0\r\n\r\n');
      });
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    try {
      const port = (trap.address() as net.AddressInfo).port;
      const e = await failure(ls({ repository: secret().url, ref: 'main', credentials: creds, proxy: { httpsProxy: `http://${GIT_USER}@127.0.0.1:${port}` } }));
      expect(e.reason).toBe('proxy');
      expect(e.message).toMatch(/the proxy needs a password/);
      const auths = seen.join('').split('\r\n').filter((l) => /^proxy-authorization:/i.test(l));
      const decoded = auths.map((l) => Buffer.from(l.split(' ').pop()!, 'base64').toString());
      expect(decoded.join('\n')).not.toContain(GIT_PAT);
      expect(seen.join('')).not.toContain(GIT_PAT);
    } finally {
      await new Promise((r) => trap.close(r));
    }
  });

  test('the environment is clean: the controller\'s GIT_SSL_CAINFO/proxy do not leak in; without caPem TLS fails', async () => {
    const saved = { ...process.env };
    process.env.GIT_SSL_CAINFO = pki.caCert;
    process.env.SSL_CERT_FILE = pki.caCert;
    process.env.HTTPS_PROXY = 'http://127.0.0.1:1';
    process.env.https_proxy = 'http://127.0.0.1:1';
    try {
      const e = await failure(lsRemote({ repository: hello().url, ref: 'main' }));
      expect(e.reason).toBe('tls');
      expect(e.message).toMatch(/set spec.caBundle/);
      expect(e.message).toContain(hello().url);
    } finally {
      for (const k of ['GIT_SSL_CAINFO', 'SSL_CERT_FILE', 'HTTPS_PROXY', 'https_proxy']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });

  test('caPem is appended to the system bundle (both are trusted)', async () => {
    const other = createPki(path.join(sb.dir, 'other-pki'));
    const otherPem = fs.readFileSync(other.caCert, 'utf8');
    // the fixture CA as "system" bundle, an unrelated CA as caPem: trusted through the system part
    expect(await lsRemote({ repository: hello().url, ref: 'main', caPem: otherPem, systemCaBundle: pki.caCert })).toBe(hello().commits.c3);
    // and the other way round
    expect(await lsRemote({ repository: hello().url, ref: 'main', caPem: ca, systemCaBundle: other.caCert })).toBe(hello().commits.c3);
    const e = await failure(lsRemote({ repository: hello().url, ref: 'main', caPem: otherPem, systemCaBundle: false }));
    expect(e.reason).toBe('tls');
    expect(e.message).toMatch(/even with the CA bundle/);
  });

  test('through the proxy (CONNECT recorded); noProxy covering the host bypasses it', async () => {
    const before = proxy.connects.length;
    expect(await ls({ repository: secret().url, ref: 'main', credentials: creds, proxy: { httpsProxy: proxy.url, noProxy: 'example.com,.svc' } })).toBe(secret().commits.p2);
    expect(proxy.connects.slice(before)).toContain(`127.0.0.1:${srv.port}`);
    const mid = proxy.connects.length;
    expect(await ls({ repository: hello().url, ref: 'main', proxy: { httpsProxy: proxy.url, noProxy: 'example.com,127.0.0.1' } })).toBe(hello().commits.c3);
    expect(proxy.connects.length).toBe(mid);
  });

  test('a proxy that is down: a proxy error naming the proxy', async () => {
    const port = await freePort();
    const e = await failure(ls({ repository: hello().url, ref: 'main', proxy: { httpsProxy: `http://127.0.0.1:${port}` } }));
    expect(e.reason).toBe('proxy');
    expect(e.message).toContain(`127.0.0.1:${port}`);
  });
});

describe('failures', () => {
  test('a server that never answers: timeout, and git\'s processes are gone', async () => {
    const url = `${srv.origin}/stall/x.git`;
    const t0 = Date.now();
    const e = await failure(ls({ repository: url, ref: 'main', timeoutMs: 800 }));
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(e.reason).toBe('timeout');
    expect(e.message).toMatch(/no answer within 0.8s/);
    await new Promise((r) => setTimeout(r, 100));
    expect(processesMentioning('/stall/x.git')).toEqual([]);
  });

  test('HTTP errors, a missing repository and a refused connection say why', async () => {
    srv.failNext(1, 503);
    const e503 = await failure(ls({ repository: hello().url, ref: 'main' }));
    expect(e503.message).toMatch(/503/);
    const missing = await failure(ls({ repository: `${srv.origin}/public/missing.git`, ref: 'main' }));
    expect(missing.reason).toBe('notFound');
    const port = await freePort();
    const refused = await failure(ls({ repository: `https://127.0.0.1:${port}/x.git`, ref: 'main' }));
    expect(refused.reason).toBe('network');
  });

  test('no writable temporary directory: a clear error, not an exception from fs', async () => {
    const e = await failure(ls({ repository: secret().url, ref: 'main', credentials: creds, tmpDir: path.join(sb.dir, 'does-not-exist') }));
    expect(e.reason).toBe('failed');
    expect(e.message).toMatch(/cannot create a temporary directory under .*does-not-exist/);
  });

  test('credentials in the URL are redacted in every message', async () => {
    const url = `https://someone:hunter2secret@127.0.0.1:${srv.port}/private/missing.git`;
    const e = await failure(ls({ repository: url, ref: 'main' }));
    expect(e.message).not.toContain('hunter2secret');
    expect(e.repository).toBe(`https://***@127.0.0.1:${srv.port}/private/missing.git`);
    expect(redactUrl('fatal: unable to access \'https://a:b@h/x\'')).toBe('fatal: unable to access \'https://***@h/x\'');
  });

  test('invalid input is refused before git runs: options, other transports, bad refs', async () => {
    for (const repository of ['--upload-pack=touch /tmp/x', 'ext::sh -c touch% /tmp/pwned', 'file:///etc', 'git@github.com:org/repo.git', 'ssh://git@h/x.git', '']) {
      expect((await failure(ls({ repository, ref: 'main' }))).reason).toBe('invalid');
    }
    for (const ref of ['--exec=x', 'a b', 'a..b', 'x:y', '']) {
      expect((await failure(ls({ repository: hello().url, ref }))).reason).toBe('invalid');
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function processesMentioning(needle: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle)) found.push(`${pid}: ${cmd}`);
    } catch {
      // gone
    }
  }
  return found;
}
