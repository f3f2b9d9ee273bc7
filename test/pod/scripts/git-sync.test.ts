import * as fs from 'fs';
import * as path from 'path';
import { gitSyncEnv, gitSyncScript } from '../../../src/pod/scripts';
import {
  ConnectProxy,
  git,
  GIT_PAT,
  GIT_USER,
  GitServer,
  Pki,
  runScript,
  Sandbox,
  SHELLS,
  startScript,
  useGitHosting,
  watchProcArgv,
} from '../../fixtures';

const hosting = useGitHosting({ prefix: 'koc-git-sync-', otherHost: true });
let sb: Sandbox;
let pki: Pki;
let srv: GitServer;
let proxy: ConnectProxy;
let creds: string;
/** A second Git host (another origin) that records every request and its Authorization header. */
let other: GitServer;

beforeAll(() => {
  ({ sb, pki, srv, proxy } = hosting);
  other = hosting.other!;
  creds = hosting.credentialsDir('creds', GIT_USER, GIT_PAT);
});

/** Whether any request a server received carried the token (Basic auth decodes to user:token). */
const sawToken = (server: GitServer) => server.requests.some((q) =>
  !!q.authorization && Buffer.from(q.authorization.replace(/^Basic /, ''), 'base64').toString().includes(GIT_PAT));

const g = (dir: string, ...args: string[]) => git(dir, args, sb.home);
const tip = (bare: string, ref = 'main') => g(bare, 'rev-parse', ref);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

const linkTarget = (link: string): string | undefined => {
  try {
    return fs.readlinkSync(link);
  } catch {
    return undefined;
  }
};

/** A commit that rewrites version.txt and 50 files under tree/ with the same label. */
function bigCommit(label: string): Record<string, string> {
  const files: Record<string, string> = { 'version.txt': `${label}\n` };
  for (let i = 0; i < 50; i++) files[`tree/z/f${i}.txt`] = `${label}\n`;
  return files;
}

/**
 * Reads through the link in a loop until $STOP exists. Through the link every file must always be there; via a
 * target resolved once, all files must be of one commit (a tree is complete before the link points at it). Files
 * may vanish only after the link moved on (the old worktree is removed after the flip).
 */
const READER = `
n=0
while [ ! -e "$STOP" ]; do
  n=$((n + 1))
  v=$(cat "$LINK/version.txt" 2>/dev/null) || { echo "BAD: version.txt missing through the link"; continue; }
  f=$(cat "$LINK/tree/z/f49.txt" 2>/dev/null) || { echo "BAD: f49 missing through the link"; continue; }
  t=$(readlink "$LINK")
  a=$(cat "$ROOT/$t/version.txt" 2>/dev/null)
  b=$(cat "$ROOT/$t/tree/z/f49.txt" 2>/dev/null)
  c=$(cat "$ROOT/$t/tree/z/f0.txt" 2>/dev/null)
  if [ -z "$a" ] || [ -z "$b" ] || [ -z "$c" ]; then
    [ "$(readlink "$LINK")" = "$t" ] && echo "BAD: incomplete tree $t"
    continue
  fi
  [ "$a" = "$b" ] && [ "$a" = "$c" ] || echo "BAD: mixed tree $t: $a $b $c"
done
echo "iterations=$n"
`;

describe.each(SHELLS)('git-sync under %s', (shell) => {
  function env(o: { root: string; link?: string; repo?: string; ref?: string; credentials?: string; oneTime?: boolean; interval?: number; submodules?: boolean },
    extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
    const e: Record<string, string | undefined> = Object.fromEntries([
      ...gitSyncEnv({
        contextName: 'team-prompts',
        repository: o.repo ?? srv.repos.sync.url,
        ref: o.ref,
        credentialsDir: o.credentials,
        recurseSubmodules: o.submodules,
        root: o.root,
        link: o.link ?? path.join(o.root, 'repo'),
        oneTime: o.oneTime,
        intervalSeconds: o.interval,
      }),
      ['RETRY_DELAY', '0'],
    ]);
    return { CUSTOM_CA_CERT_PATH: pki.caCert, ...e, ...extra };
  }
  const run = (e: Record<string, string | undefined>) => runScript(sb, shell, gitSyncScript(), e);

  test('one-time: link → .worktrees/<hash> (relative), repeated run changes nothing', async () => {
    const root = sb.mkdir('sync');
    const link = path.join(root, 'repo');
    const r = await run(env({ root, oneTime: true }));
    expect(r.code).toBe(0);
    const hash = tip(srv.repos.sync.bare);
    expect(fs.readlinkSync(link)).toBe(`.worktrees/${hash}`);
    expect(fs.readFileSync(path.join(link, 'version.txt'), 'utf8')).toBeTruthy();
    expect(fs.readdirSync(path.join(root, '.worktrees'))).toEqual([hash]);
    expect(r.output).toContain(`git-sync[team-prompts]: synced ${srv.repos.sync.url} HEAD at ${hash}`);
    expect(fs.readdirSync(sb.tmp)).toEqual([]);

    const r2 = await run(env({ root, oneTime: true }));
    expect(r2.code).toBe(0);
    expect(r2.output).not.toContain('synced');
    expect(fs.readlinkSync(link)).toBe(`.worktrees/${hash}`);
  });

  test('one-time: branch, annotated tag and full SHA', async () => {
    const hello = srv.repos.hello;
    const cases: Array<[string, string, string]> = [
      ['feature', hello.commits.f1, 'feature\n'],
      ['v1.0', hello.commits.c2, '2\n'],
      [hello.commits.c1, hello.commits.c1, '1\n'],
    ];
    for (const [ref, want, version] of cases) {
      const root = sb.mkdir('sync');
      const r = await run(env({ root, repo: hello.url, ref, oneTime: true }));
      expect(r.code).toBe(0);
      expect(fs.readlinkSync(path.join(root, 'repo'))).toBe(`.worktrees/${want}`);
      expect(fs.readFileSync(path.join(root, 'repo', 'version.txt'), 'utf8')).toBe(version);
    }
  });

  test('one-time, private repo through the proxy with the CA: secret in no argv, config or log', async () => {
    const root = sb.mkdir('sync');
    const before = proxy.connects.length;
    fs.writeFileSync(sb.argvLog, '');
    const watch = watchProcArgv([GIT_PAT]);
    const r = await run(env({ root, repo: srv.repos.secret.url, credentials: creds, oneTime: true }, { HTTPS_PROXY: proxy.url }));
    const hits = await watch.stop();
    expect(r.code).toBe(0);
    expect(fs.readFileSync(path.join(root, 'repo', 'SECRET.md'), 'utf8')).toBe('private v2\n');
    expect(proxy.connects.slice(before)).toContain(`127.0.0.1:${srv.port}`);
    expect(hits).toEqual([]);
    expect(fs.readFileSync(sb.argvLog, 'utf8')).not.toContain(GIT_PAT);
    expect(r.output).not.toContain(GIT_PAT);
    expect(fs.readFileSync(path.join(root, '.git', 'config'), 'utf8')).not.toContain(GIT_PAT);
  });

  test('one-time without credentials fails, naming the context and the repository', async () => {
    const root = sb.mkdir('sync');
    const r = await run(env({ root, repo: srv.repos.secret.url, oneTime: true }, { RETRY_DELAY: '5' }));
    expect(r.code).toBe(1);
    expect(r.output).toContain(`git-sync[team-prompts]: error: cannot sync ${srv.repos.secret.url}`);
    expect(r.ms).toBeLessThan(4000);
    expect(fs.existsSync(path.join(root, 'repo'))).toBe(false);
  });

  test('link outside the root gets an absolute target; an empty directory at the link is replaced', async () => {
    const root = sb.mkdir('sync');
    const link = path.join(sb.mkdir('workspace'), 'prompts');
    fs.mkdirSync(link);
    const r = await run(env({ root, link, oneTime: true }));
    expect(r.code).toBe(0);
    expect(fs.readlinkSync(link)).toBe(path.join(root, '.worktrees', tip(srv.repos.sync.bare)));
  });

  test('submodules are checked out in the worktree with GIT_RECURSE_SUBMODULES=true', async () => {
    const root = sb.mkdir('sync');
    const r = await run(env({ root, repo: srv.repos.app.url, submodules: true, oneTime: true }));
    expect(r.code).toBe(0);
    expect(fs.readFileSync(path.join(root, 'repo', 'vendor/lib/deep/deep.txt'), 'utf8')).toBe('deep 2\n');
  });

  test('loop (1 s interval): a push reaches the link on a later interval; the old worktree is removed', async () => {
    const root = sb.mkdir('sync');
    const link = path.join(root, 'repo');
    const p = startScript(sb, shell, gitSyncScript(), env({ root, interval: 1 }));
    try {
      const first = await waitFor('the first sync', () => linkTarget(link), 20_000);
      expect(first).toBe(`.worktrees/${tip(srv.repos.sync.bare)}`);
      const label = `loop-${shell}`;
      const pushed = srv.pushCommit(srv.repos.sync, { 'version.txt': `${label}\n` });
      // how fast is the benchmark's business; here only that the loop picks it up (bounded wait for loaded machines)
      await waitFor('the pushed commit', () => linkTarget(link) === `.worktrees/${pushed}`, 15_000);
      await waitFor('the log line', () => p.output().includes(`-> ${pushed}`), 20_000);
      expect(fs.readFileSync(path.join(link, 'version.txt'), 'utf8')).toBe(`${label}\n`);
      await waitFor('the old worktree to go', () => fs.readdirSync(path.join(root, '.worktrees')).length === 1, 10_000);
      expect(fs.readdirSync(path.join(root, '.worktrees'))).toEqual([pushed]);
      await waitFor('git worktree prune', () => !g(root, '--git-dir=.git', 'worktree', 'list', '--porcelain').includes(first), 10_000);
    } finally {
      const res = await p.stop();
      expect(res.code).toBe(143);
    }
  });

  test('the flip is atomic: a reader looping on the link never sees a missing or partial tree', async () => {
    const root = sb.mkdir('sync');
    const link = path.join(root, 'repo');
    const stop = path.join(root, '..', `stop-${path.basename(root)}`);
    const p = startScript(sb, shell, gitSyncScript(), env({ root, interval: 0.05 }));
    let reader: ReturnType<typeof startScript> | undefined;
    try {
      await waitFor('the first sync', () => linkTarget(link), 20_000);
      const big = srv.pushCommit(srv.repos.sync, bigCommit(`atomic-${shell}-0`));
      await waitFor('the big tree', () => linkTarget(link) === `.worktrees/${big}`, 20_000);
      reader = startScript(sb, shell, READER, { LINK: link, ROOT: root, STOP: stop });
      const seen = new Set<string>();
      for (let i = 1; i <= 3; i++) {
        const id = srv.pushCommit(srv.repos.sync, bigCommit(`atomic-${shell}-${i}`));
        await waitFor(`flip ${i}`, () => linkTarget(link) === `.worktrees/${id}`, 10_000);
        seen.add(id);
        await sleep(50);
      }
      fs.writeFileSync(stop, '');
      const rr = await reader.done;
      expect(rr.stdout).not.toContain('BAD');
      const iterations = Number(/iterations=(\d+)/.exec(rr.stdout)?.[1] ?? 0);
      expect(iterations).toBeGreaterThan(20);
      expect(seen.size).toBe(3);
      expect(fs.readdirSync(path.join(root, '.worktrees')).length).toBeLessThanOrEqual(2);
    } finally {
      fs.writeFileSync(stop, '');
      await reader?.stop();
      await p.stop();
    }
  });

  test('SIGTERM ends the loop at once, even with the default 300 s interval', async () => {
    const root = sb.mkdir('sync');
    const p = startScript(sb, shell, gitSyncScript(), env({ root }));
    await waitFor('the first sync', () => linkTarget(path.join(root, 'repo')), 20_000);
    await sleep(100);
    const t0 = Date.now();
    const res = await p.stop(5000);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(res.code).toBe(143);
    expect(res.output).toContain('git-sync[team-prompts]: terminating');
  });

  test('loop failures are logged and retried; GIT_SYNC_MAX_FAILURES bounds them', async () => {
    const root = sb.mkdir('sync');
    const r = await run(env({ root, repo: 'https://127.0.0.1:1/none.git', interval: 0.05 }, { GIT_SYNC_MAX_FAILURES: '2' }));
    expect(r.code).toBe(1);
    expect(r.output).toContain('failed (1 in a row)');
    expect(r.output).toContain('failed (3 in a row)');
    expect(r.output).toContain('git-sync[team-prompts]: error: giving up after 3 failed syncs of https://127.0.0.1:1/none.git');
  });

  test('leftovers of an interrupted run are cleaned up', async () => {
    const root = sb.mkdir('sync');
    expect((await run(env({ root, oneTime: true }))).code).toBe(0);
    const stale = path.join(root, '.worktrees', 'deadbeef');
    fs.mkdirSync(stale);
    fs.symlinkSync('.worktrees/deadbeef', path.join(root, '.repo.kubeopencode-tmp'));
    const r = await run(env({ root, oneTime: true }));
    expect(r.code).toBe(0);
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.existsSync(path.join(root, '.repo.kubeopencode-tmp'))).toBe(false);
  });

  test('bad input fails with a clear message', async () => {
    const r = await run(env({ root: 'relative' }));
    expect(r.code).toBe(1);
    expect(r.output).toContain('git-sync[team-prompts]: error: GIT_SYNC_ROOT must be an absolute path');
    const r2 = await run(env({ root: sb.mkdir('sync') }, { GIT_SYNC_INTERVAL: '5m' }));
    expect(r2.code).toBe(1);
    expect(r2.output).toContain('GIT_SYNC_INTERVAL must be a number of seconds');
  });

  test('a remote URL rewritten in the sync repository never redirects the token: every fetch names the URL', async () => {
    const repo = srv.addRepo('private', `sync-rewrite-${shell}`, { 'version.txt': 'r1\n' });
    const root = sb.mkdir('sync');
    const link = path.join(root, 'repo');
    other.requests.length = 0;
    const p = startScript(sb, shell, gitSyncScript(), env({ root, repo: repo.url, credentials: creds, interval: 0.3 }));
    try {
      await waitFor('the first sync', () => linkTarget(link), 20_000);
      // what a process with write access to the sync repository could do between two intervals
      g(root, '--git-dir=.git', 'config', 'remote.origin.url', other.repos.secret.url);
      g(root, '--git-dir=.git', 'config', `url.${other.origin}/.insteadOf`, `${srv.origin}/`);
      const pushed = srv.pushCommit(repo, { 'version.txt': 'r2\n' });
      await waitFor('the pushed commit, or a request to the other host',
        () => linkTarget(link) === `.worktrees/${pushed}` || other.requests.length > 0, 20_000);
      expect(sawToken(other)).toBe(false);
      expect(other.requests).toEqual([]);
      expect(linkTarget(link)).toBe(`.worktrees/${pushed}`);
    } finally {
      await p.stop();
    }
  });
});
