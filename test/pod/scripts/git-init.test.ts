import * as fs from 'fs';
import * as path from 'path';
import { gitInitEnv, gitInitScript } from '../../../src/pod/scripts';
import {
  ConnectProxy,
  createPki,
  git,
  GIT_PAT,
  GIT_USER,
  GitServer,
  Pki,
  runScript,
  Sandbox,
  SHELLS,
  useGitHosting,
  watchProcArgv,
} from '../../fixtures';

const hosting = useGitHosting({ prefix: 'koc-git-init-', otherHost: true, proxyAuth: { user: 'proxyuser', pass: 'proxy-pass-XYZ' } });
let sb: Sandbox;
let pki: Pki;
let srv: GitServer;
let proxy: ConnectProxy;
let authProxy: ConnectProxy;
/** A second Git host (another origin): it records every request and its Authorization header. */
let other: GitServer;
let creds: string;
let wrongCreds: string;

beforeAll(() => {
  ({ sb, pki, srv, proxy } = hosting);
  authProxy = hosting.authProxy!;
  other = hosting.other!;
  creds = hosting.credentialsDir('creds', `${GIT_USER}\n`, `${GIT_PAT}\n`);
  wrongCreds = hosting.credentialsDir('wrong-creds', GIT_USER, 'ghp_WRONG');
});

/** Whether any request a server received carried the token (Basic auth decodes to user:token). */
const sawToken = (server: GitServer) => server.requests.some((q) =>
  !!q.authorization && Buffer.from(q.authorization.replace(/^Basic /, ''), 'base64').toString().includes(GIT_PAT));

const read = (dir: string, f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
const g = (dir: string, ...args: string[]) => git(dir, args, sb.home);

describe.each(SHELLS)('git-init under %s', (shell) => {
  /** Env of a run: the contract's defaults via gitInitEnv, the CA, no retry delay. */
  function env(o: { repo?: string; ref?: string; depth?: number; submodules?: boolean; credentials?: string; dest: string },
    extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
    const e: Record<string, string | undefined> = Object.fromEntries([
      ...gitInitEnv({
        contextName: 'codebase',
        repository: o.repo ?? srv.repos.hello.url,
        ref: o.ref,
        depth: o.depth,
        recurseSubmodules: o.submodules,
        credentialsDir: o.credentials,
        dest: o.dest,
      }),
      ['RETRY_DELAY', '0'],
    ]);
    return { CUSTOM_CA_CERT_PATH: pki.caCert, ...e, ...extra };
  }
  const run = (e: Record<string, string | undefined>) => runScript(sb, shell, gitInitScript(), e);

  test('default ref (HEAD) → the default branch, depth 1, tracking origin', async () => {
    const dest = sb.mkdir('dest');
    const r = await run(env({ dest }));
    expect(r.code).toBe(0);
    expect(read(dest, 'version.txt')).toBe('3\n');
    expect(g(dest, 'rev-parse', 'HEAD')).toBe(srv.repos.hello.commits.c3);
    expect(g(dest, 'rev-list', '--count', 'HEAD')).toBe('1');
    expect(g(dest, 'symbolic-ref', '--short', 'HEAD')).toBe('main');
    expect(g(dest, 'rev-parse', '--abbrev-ref', 'main@{upstream}')).toBe('origin/main');
    expect(g(dest, 'remote', 'get-url', 'origin')).toBe(srv.repos.hello.url);
    expect(g(dest, 'status', '--porcelain')).toBe('');
    expect(r.output).toContain('git-init[codebase]: checked out');
    expect(fs.readdirSync(sb.tmp)).toEqual([]); // the combined CA bundle is removed
  });

  test('branch', async () => {
    const dest = sb.mkdir('dest');
    const r = await run(env({ dest, ref: 'feature' }));
    expect(r.code).toBe(0);
    expect(read(dest, 'feature.txt')).toBe('only on feature\n');
    expect(g(dest, 'symbolic-ref', '--short', 'HEAD')).toBe('feature');
    expect(g(dest, 'rev-parse', 'HEAD')).toBe(srv.repos.hello.commits.f1);
  });

  test('refs/heads/<branch>', async () => {
    const dest = sb.mkdir('dest');
    const r = await run(env({ dest, ref: 'refs/heads/feature' }));
    expect(r.code).toBe(0);
    expect(g(dest, 'rev-parse', 'HEAD')).toBe(srv.repos.hello.commits.f1);
  });

  test('annotated tag → detached at the tagged commit', async () => {
    const dest = sb.mkdir('dest');
    const r = await run(env({ dest, ref: 'v1.0' }));
    expect(r.code).toBe(0);
    expect(read(dest, 'version.txt')).toBe('2\n');
    expect(g(dest, 'rev-parse', 'HEAD')).toBe(srv.repos.hello.commits.c2);
    expect(() => g(dest, 'symbolic-ref', '-q', 'HEAD')).toThrow();
  });

  test('lightweight tag', async () => {
    const dest = sb.mkdir('dest');
    const r = await run(env({ dest, ref: 'v0.1' }));
    expect(r.code).toBe(0);
    expect(g(dest, 'rev-parse', 'HEAD')).toBe(srv.repos.hello.commits.c1);
  });

  test('full commit SHA of a commit that is no branch tip', async () => {
    const dest = sb.mkdir('dest');
    const r = await run(env({ dest, ref: srv.repos.hello.commits.c2 }));
    expect(r.code).toBe(0);
    expect(read(dest, 'version.txt')).toBe('2\n');
    expect(g(dest, 'rev-parse', 'HEAD')).toBe(srv.repos.hello.commits.c2);
  });

  test('GIT_DEPTH=0 → full history; GIT_DEPTH=2 → two commits', async () => {
    const full = sb.mkdir('dest');
    expect((await run(env({ dest: full, depth: 0 }))).code).toBe(0);
    expect(g(full, 'rev-list', '--count', 'HEAD')).toBe('3');
    expect(fs.existsSync(path.join(full, '.git', 'shallow'))).toBe(false);
    const two = sb.mkdir('dest');
    expect((await run(env({ dest: two, depth: 2 }))).code).toBe(0);
    expect(g(two, 'rev-list', '--count', 'HEAD')).toBe('2');
  });

  test('submodules: recursive with GIT_RECURSE_SUBMODULES=true, not checked out otherwise', async () => {
    const dest = sb.mkdir('dest');
    const r = await run(env({ dest, repo: srv.repos.app.url, submodules: true }));
    expect(r.code).toBe(0);
    expect(read(dest, 'app.txt')).toBe('app 1\n');
    expect(read(dest, 'vendor/lib/lib.txt')).toBe('lib 1\n');
    expect(read(dest, 'vendor/lib/deep/deep.txt')).toBe('deep 2\n');
    const plain = sb.mkdir('dest');
    expect((await run(env({ dest: plain, repo: srv.repos.app.url }))).code).toBe(0);
    expect(fs.readdirSync(path.join(plain, 'vendor/lib'))).toEqual([]);
  });

  test('private repo with credentials; the secret is in no argv, .git/config, remote URL or log', async () => {
    const dest = sb.mkdir('dest');
    fs.writeFileSync(sb.argvLog, '');
    const watch = watchProcArgv([GIT_PAT]);
    const r = await run(env({ dest, repo: srv.repos.secret.url, credentials: creds }));
    const hits = await watch.stop();
    expect(r.code).toBe(0);
    expect(read(dest, 'SECRET.md')).toBe('private v2\n');
    expect(r.output).toContain(`using credentials from ${creds}`);
    expect(r.output).not.toContain(GIT_PAT);
    expect(hits).toEqual([]);
    const argv = fs.readFileSync(sb.argvLog, 'utf8');
    expect(argv).toContain('fetch');
    expect(argv).not.toContain(GIT_PAT);
    expect(read(dest, '.git/config')).not.toContain(GIT_PAT);
    expect(read(dest, '.git/config')).not.toContain(GIT_USER);
    expect(g(dest, 'remote', 'get-url', 'origin')).toBe(srv.repos.secret.url);
    const files = fs.readdirSync(path.join(dest, '.git'));
    expect(files).not.toContain('credentials');
    expect(srv.requests.some((q) => q.user === GIT_USER && q.status === 200)).toBe(true);
  });

  test('private repo without credentials fails at once, naming the context and the repository', async () => {
    const dest = sb.mkdir('dest');
    const before = srv.requests.length;
    const r = await run(env({ dest, repo: srv.repos.secret.url }, { RETRY_DELAY: '5' }));
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/git-init\[codebase\]: error: .*authentication failed or credentials missing/);
    expect(r.output).toContain(srv.repos.secret.url);
    expect(r.ms).toBeLessThan(4000); // permanent error: no retry delay
    expect(srv.requests.length - before).toBeLessThanOrEqual(3);
    expect(fs.existsSync(path.join(dest, '.git'))).toBe(false); // a later attempt starts over
  });

  test('wrong credentials fail', async () => {
    const dest = sb.mkdir('dest');
    const r = await run(env({ dest, repo: srv.repos.secret.url, credentials: wrongCreds }));
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/git-init\[codebase\]: error: .*authentication failed/);
    expect(r.output).not.toContain('ghp_WRONG');
  });

  test('credentials embedded in GIT_REPO are redacted from the log', async () => {
    const dest = sb.mkdir('dest');
    const url = srv.repos.secret.url.replace('https://', 'https://someone:ghp_INURL@');
    const r = await run(env({ dest, repo: url, ref: 'nope-branch' }));
    expect(r.code).toBe(1);
    expect(r.output).toContain('https://***@127.0.0.1');
    expect(r.output).not.toContain('ghp_INURL');
  });

  test('without CUSTOM_CA_CERT_PATH TLS verification fails; a missing CA file is a warning', async () => {
    const dest = sb.mkdir('dest');
    const r = await run(env({ dest }, { CUSTOM_CA_CERT_PATH: undefined }));
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/git-init\[codebase\]: error: .*TLS certificate verification failed/);
    expect(r.output).toContain(srv.repos.hello.url);
    const r2 = await run(env({ dest: sb.mkdir('dest') }, { CUSTOM_CA_CERT_PATH: '/nonexistent/ca.crt' }));
    expect(r2.code).toBe(1);
    expect(r2.output).toContain('warning: CUSTOM_CA_CERT_PATH /nonexistent/ca.crt is not a readable file');
  });

  test('the custom CA is added to the system bundle, not substituted for it', async () => {
    // the fixture CA plays the "system" CA; the custom CA file holds an unrelated certificate
    const other = createPki(sb.mkdir('other-pki'));
    const dest = sb.mkdir('dest');
    const r = await run(env({ dest }, { SYSTEM_CA_BUNDLE: pki.caCert, CUSTOM_CA_CERT_PATH: other.caCert }));
    expect(r.code).toBe(0);
    const r2 = await run(env({ dest: sb.mkdir('dest') }, { SYSTEM_CA_BUNDLE: '/nonexistent', CUSTOM_CA_CERT_PATH: other.caCert }));
    expect(r2.code).toBe(1);
  });

  test('HTTPS_PROXY: traffic goes through the proxy (CONNECT recorded); NO_PROXY=127.0.0.1 bypasses it', async () => {
    const before = proxy.connects.length;
    const dest = sb.mkdir('dest');
    const r = await run(env({ dest, repo: srv.repos.secret.url, credentials: creds }, { HTTPS_PROXY: proxy.url, https_proxy: proxy.url }));
    expect(r.code).toBe(0);
    expect(proxy.connects.slice(before)).toContain(`127.0.0.1:${srv.port}`);

    const mid = proxy.connects.length;
    const r2 = await run(env({ dest: sb.mkdir('dest') }, {
      HTTPS_PROXY: proxy.url, https_proxy: proxy.url, NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost',
    }));
    expect(r2.code).toBe(0);
    expect(proxy.connects.length).toBe(mid);
  });

  test('proxy with authentication (credentials in HTTPS_PROXY are not logged)', async () => {
    const dest = sb.mkdir('dest');
    const r = await run(env({ dest }, { HTTPS_PROXY: authProxy.url }));
    expect(r.code).toBe(0);
    expect(authProxy.connects).toContain(`127.0.0.1:${srv.port}`);
    expect(r.output).not.toContain('proxy-pass-XYZ');
    const r2 = await run(env({ dest: sb.mkdir('dest') }, { HTTPS_PROXY: authProxy.bareUrl, RETRY_ATTEMPTS: '1' }));
    expect(r2.code).toBe(1);
    expect(authProxy.rejected.length).toBeGreaterThan(0);
  });

  test('skips when $GIT_DEST/.git exists (persisted workspace), without network access', async () => {
    const dest = sb.mkdir('dest');
    fs.mkdirSync(path.join(dest, '.git'));
    fs.writeFileSync(path.join(dest, 'work-in-progress.txt'), 'keep me\n');
    const before = srv.requests.length;
    const r = await run(env({ dest }, { CUSTOM_CA_CERT_PATH: undefined, GIT_REPO: 'https://127.0.0.1:1/unreachable.git' }));
    expect(r.code).toBe(0);
    expect(r.output).toContain(`git-init[codebase]: ${dest} already present, skipping clone`);
    expect(srv.requests.length).toBe(before);
    expect(read(dest, 'work-in-progress.txt')).toBe('keep me\n');
  });

  test('GIT_UPDATE_EXISTING=true updates an existing checkout, stashing local changes, keeping untracked files', async () => {
    const dest = sb.mkdir('dest');
    expect((await run(env({ dest, ref: 'v0.1' }))).code).toBe(0);
    fs.writeFileSync(path.join(dest, 'README.md'), 'edited by the agent\n');
    fs.writeFileSync(path.join(dest, 'notes.txt'), 'untracked\n');
    const r = await run(env({ dest, ref: 'main', depth: 0 }, { GIT_UPDATE_EXISTING: 'true' }));
    expect(r.code).toBe(0);
    expect(r.output).toContain(`updating the existing checkout in ${dest} (at ${srv.repos.hello.commits.c1}) to main`);
    expect(r.output).toContain('local changes to tracked files were stashed');
    expect(r.output).toContain(`updated ${srv.repos.hello.url} in ${dest} from ${srv.repos.hello.commits.c1} to main (${srv.repos.hello.commits.c3})`);
    expect(g(dest, 'symbolic-ref', '--short', 'HEAD')).toBe('main');
    expect(g(dest, 'rev-list', '--count', 'HEAD')).toBe('3'); // unshallowed for depth 0
    expect(read(dest, 'README.md')).toBe('# hello\n');
    expect(read(dest, 'notes.txt')).toBe('untracked\n');
    expect(g(dest, 'stash', 'list')).toContain('kubeopencode git-init: local changes before updating to main');
    // a second update with nothing new
    const r2 = await run(env({ dest, ref: 'main' }, { GIT_UPDATE_EXISTING: 'true' }));
    expect(r2.code).toBe(0);
    expect(r2.output).not.toContain('stashed');
  });

  (process.getuid?.() === 0 ? test : test.skip)('GIT_DEST owned by another user (a volume root) works', async () => {
    const dest = sb.mkdir('dest');
    fs.chownSync(dest, 65534, 65534);
    const r = await run(env({ dest }));
    expect(r.code).toBe(0);
    expect(read(dest, 'version.txt')).toBe('3\n');
  });

  (process.getuid?.() === 0 ? test : test.skip)('runs as uid 65532 with HOME=/tmp-like, an emptyDir-like dest and a Secret volume (0444, root\'s)', async () => {
    // what the pod gives the script containers: runAsUser 65532, world-writable emptyDirs, root-owned Secret files
    fs.chmodSync(sb.dir, 0o755);
    const home = sb.mkdir('home-65532');
    const tmp = sb.mkdir('tmp-65532');
    const dest = sb.mkdir('dest');
    for (const d of [home, tmp, dest]) fs.chmodSync(d, 0o1777);
    const secret = sb.mkdir('secret');
    fs.chmodSync(secret, 0o755);
    fs.writeFileSync(path.join(secret, 'username'), GIT_USER, { mode: 0o444 });
    fs.writeFileSync(path.join(secret, 'password'), GIT_PAT, { mode: 0o444 });
    fs.chmodSync(pki.caCert, 0o644);
    for (let d = path.dirname(pki.caCert); d.startsWith(sb.dir); d = path.dirname(d)) fs.chmodSync(d, 0o755);
    const r = await runScript(sb, shell, gitInitScript(), env({ dest, repo: srv.repos.secret.url, credentials: secret }, { HOME: home, TMPDIR: tmp }),
      20_000, { uid: 65532 });
    expect(r.output).not.toContain('error');
    expect(r.code).toBe(0);
    expect(read(dest, 'SECRET.md')).toBe('private v2\n');
    expect(fs.statSync(path.join(dest, 'SECRET.md')).uid).toBe(65532);
  });

  test('an unwritable TMPDIR falls back to trusting only the custom CA', async () => {
    const dest = sb.mkdir('dest');
    const r = await run(env({ dest }, { TMPDIR: '/nonexistent-tmp' }));
    expect(r.code).toBe(0);
    expect(r.output).toContain('warning: cannot write a CA bundle under /nonexistent-tmp; trusting only');
  });

  test('an interrupted earlier attempt (marker in .git) is discarded and redone', async () => {
    const dest = sb.mkdir('dest');
    g(dest, 'init', '-q');
    fs.writeFileSync(path.join(dest, '.git', 'kubeopencode-init-incomplete'), '');
    const r = await run(env({ dest }));
    expect(r.code).toBe(0);
    expect(r.output).toContain('discarding an incomplete checkout');
    expect(g(dest, 'rev-parse', 'HEAD')).toBe(srv.repos.hello.commits.c3);
    expect(fs.existsSync(path.join(dest, '.git', 'kubeopencode-init-incomplete'))).toBe(false);
  });

  test('checks out in place into a non-empty GIT_DEST, keeping untracked files', async () => {
    const dest = sb.mkdir('dest');
    fs.mkdirSync(path.join(dest, '.kubeopencode'));
    fs.writeFileSync(path.join(dest, '.kubeopencode', 'context.md'), 'context\n');
    fs.writeFileSync(path.join(dest, 'task.md'), 'do it\n');
    fs.writeFileSync(path.join(dest, 'version.txt'), 'stale\n');
    const r = await run(env({ dest }));
    expect(r.code).toBe(0);
    expect(read(dest, '.kubeopencode/context.md')).toBe('context\n');
    expect(read(dest, 'task.md')).toBe('do it\n');
    expect(read(dest, 'version.txt')).toBe('3\n');
    expect(read(dest, 'README.md')).toBe('# hello\n');
  });

  test('creates a missing GIT_DEST', async () => {
    const dest = path.join(sb.mkdir('parent'), 'a', 'b');
    const r = await run(env({ dest }));
    expect(r.code).toBe(0);
    expect(read(dest, 'version.txt')).toBe('3\n');
  });

  test('retries transient failures (HTTP 503), RETRY_ATTEMPTS bounds them', async () => {
    srv.failNext(1);
    const dest = sb.mkdir('dest');
    const r = await run(env({ dest }));
    expect(r.code).toBe(0);
    expect(r.output).toMatch(/failed \(attempt 1 of 3\), retrying in 0s/);

    srv.failNext(100);
    const r2 = await run(env({ dest: sb.mkdir('dest') }, { RETRY_ATTEMPTS: '2' }));
    srv.failNext(0);
    expect(r2.code).toBe(1);
    expect(r2.output).toContain('failed after 2 attempts');
    expect(r2.output).toMatch(/git-init\[codebase\]: error: cannot reach https:\/\/127\.0\.0\.1:\d+\/public\/hello\.git/);
  });

  // git's own timer, whatever the shell: once is enough (it costs a second)
  (shell === 'dash' ? test : test.skip)('a server that stops answering fails the attempt after GIT_HTTP_LOW_SPEED_TIME', async () => {
    const r = await run(env({ dest: sb.mkdir('dest'), repo: `${srv.origin}/stall/x.git` }, { GIT_HTTP_LOW_SPEED_TIME: '1', RETRY_ATTEMPTS: '1' }));
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(5000);
    expect(r.output).toMatch(/git-init\[codebase\]: error: cannot reach https:\/\/127\.0\.0\.1:\d+\/stall\/x\.git/);
  });

  test('unknown ref and bad input fail with a clear message', async () => {
    const dest = sb.mkdir('dest');
    const r = await run(env({ dest, ref: 'no-such-branch' }));
    expect(r.code).toBe(1);
    expect(r.output).toContain(`git-init[codebase]: error: ref 'no-such-branch' is not a branch or tag of ${srv.repos.hello.url}`);
    expect(fs.existsSync(path.join(dest, '.git'))).toBe(false);
    const r2 = await run(env({ dest: sb.mkdir('dest') }, { GIT_REPO: undefined }));
    expect(r2.code).toBe(1);
    expect(r2.output).toContain('git-init[codebase]: error: GIT_REPO is required');
    const r3 = await run(env({ dest: 'relative/dir' }));
    expect(r3.code).toBe(1);
    expect(r3.output).toContain('GIT_DEST must be an absolute path');
    const r4 = await run(env({ dest: sb.mkdir('dest') }, { GIT_DEPTH: 'one' }));
    expect(r4.code).toBe(1);
    expect(r4.output).toContain('GIT_DEPTH must be a non-negative integer');
  });

  test('a submodule on another host never receives the token; one on the repository\'s host does', async () => {
    const sub = (url: string) => `[submodule "ext"]\n\tpath = ext\n\turl = ${url}\n`;
    const foreign = srv.addRepo('private', `foreign-sub-${shell}`, { 'main.txt': 'main\n', '.gitmodules': sub(other.repos.secret.url) },
      { ext: other.repos.secret.commits.p2 });
    other.requests.length = 0;
    const dest = sb.mkdir('dest');
    const r = await run(env({ dest, repo: foreign.url, credentials: creds, submodules: true }, { RETRY_ATTEMPTS: '1' }));
    expect(other.requests.length).toBeGreaterThan(0); // git did go there
    expect(sawToken(other)).toBe(false);
    expect(r.code).toBe(1);
    expect(r.output).toContain('cannot check out the submodules of');
    // same scheme, host and port: the helper answers
    const local = srv.addRepo('private', `local-sub-${shell}`, { 'main.txt': 'main\n', '.gitmodules': sub(srv.repos.secret.url) },
      { ext: srv.repos.secret.commits.p2 });
    const dest2 = sb.mkdir('dest');
    const r2 = await run(env({ dest: dest2, repo: local.url, credentials: creds, submodules: true }));
    expect(r2.code).toBe(0);
    expect(read(dest2, 'ext/SECRET.md')).toBe('private v2\n');
  });

  test('hooks, fsmonitor and a rewritten URL in an existing checkout\'s config never run or get the token', async () => {
    const dest = sb.mkdir('dest');
    expect((await run(env({ dest, repo: srv.repos.secret.url, credentials: creds, ref: 'main' }))).code).toBe(0);
    // what an agent with write access to the workspace could leave behind for the next restart
    const marker = path.join(sb.mkdir('marker'), 'ran');
    const hooks = sb.mkdir('hooks');
    const evil = `#!/bin/sh\necho "$0" >> '${marker}'\n`;
    fs.mkdirSync(path.join(dest, '.git', 'hooks'), { recursive: true });
    for (const h of ['post-checkout', 'pre-auto-gc', 'reference-transaction', 'post-merge']) {
      fs.writeFileSync(path.join(hooks, h), evil, { mode: 0o755 });
      fs.writeFileSync(path.join(dest, '.git', 'hooks', h), evil, { mode: 0o755 });
    }
    const fsmonitor = path.join(hooks, 'fsmonitor');
    fs.writeFileSync(fsmonitor, evil, { mode: 0o755 });
    g(dest, 'config', 'core.hooksPath', hooks);
    g(dest, 'config', 'core.fsmonitor', fsmonitor);
    g(dest, 'config', `url.${other.origin}/.insteadOf`, `${srv.origin}/`);
    g(dest, 'config', 'remote.origin.url', other.repos.secret.url);
    other.requests.length = 0;
    const r = await run(env({ dest, repo: srv.repos.secret.url, credentials: creds, ref: 'main' }, { GIT_UPDATE_EXISTING: 'true' }));
    expect(r.code).toBe(0);
    expect(fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8') : '').toBe('');
    expect(other.requests).toEqual([]);
    expect(g(dest, 'remote', 'get-url', 'origin')).toBe(srv.repos.secret.url);
  });

  test('file:// and other transports are refused, also for submodules', async () => {
    const dest = sb.mkdir('dest');
    const r = await run(env({ dest, repo: `file://${srv.repos.hello.bare}` }, { RETRY_ATTEMPTS: '1' }));
    expect(r.code).toBe(1);
    expect(fs.existsSync(path.join(dest, 'version.txt'))).toBe(false);
    const withFileSub = srv.addRepo('public', `file-sub-${shell}`, {
      'main.txt': 'main\n', '.gitmodules': `[submodule "ext"]\n\tpath = ext\n\turl = ${srv.repos.hello.bare}\n`,
    }, { ext: srv.repos.hello.commits.c3 });
    const dest2 = sb.mkdir('dest');
    const r2 = await run(env({ dest: dest2, repo: withFileSub.url, submodules: true }, { RETRY_ATTEMPTS: '1' }));
    expect(r2.code).toBe(1);
    expect(fs.existsSync(path.join(dest2, 'ext', 'version.txt'))).toBe(false);
  });
});
