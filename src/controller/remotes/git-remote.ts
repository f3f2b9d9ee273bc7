/**
 * `git ls-remote` for the controller (Git contexts with the Rollout policy): which commit a ref of a remote points at
 * now. It runs the real git binary (no shell) in a clean environment, so nothing of the controller's own environment
 * (GIT_SSL_CAINFO, proxies, a global config, credential helpers) changes what it sees:
 *
 * - credentials: a credential helper set through GIT_CONFIG_COUNT/KEY/VALUE, scoped to the repository's origin (so a
 *   redirect to another host or a proxy asking for auth never gets them), that `cat`s a 0600 file in a 0700 temporary
 *   directory. The secret is never in argv, in the URL or in any process environment;
 * - CA: the PEM, appended to the system bundle when there is one, in a temporary file → GIT_SSL_CAINFO;
 * - proxy: HTTPS_PROXY / HTTP_PROXY / NO_PROXY and their lowercase forms;
 * - GIT_TERMINAL_PROMPT=0, no system or global config, only http(s) transports, LC_ALL=C (errors are classified by
 *   their text), and a timeout (default 30 s) that kills git's whole process group.
 *
 * Refs resolve as the pods' git-sync does: a full commit id (40 or 64 hex) is returned as it is without contacting
 * the remote; HEAD and refs/... are looked up as given (the peeled `^{}` entry preferred); any other name is tried as
 * refs/heads/<name>, then refs/tags/<name> (peeled first, so an annotated tag gives its commit).
 */
import { spawn } from 'child_process';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface GitCredentials {
  /** @default "git" (a token alone is enough for most forges) */
  readonly username?: string;
  readonly password: string;
}

export interface GitProxy {
  readonly httpProxy?: string;
  readonly httpsProxy?: string;
  readonly noProxy?: string;
}

export interface LsRemoteOptions {
  /** http(s) URL of the repository. */
  readonly repository: string;
  /** Branch, tag, HEAD, refs/... or a full commit id. */
  readonly ref: string;
  readonly credentials?: GitCredentials;
  /** Extra CA certificates (PEM), trusted in addition to the system bundle. */
  readonly caPem?: string;
  readonly proxy?: GitProxy;
  /** @default 30000 */
  readonly timeoutMs?: number;
  /** PATH of the git process (tests put an argv-logging wrapper first). @default process.env.PATH */
  readonly path?: string;
  /** The system CA bundle caPem is appended to; false: none. @default the first that exists of the usual places */
  readonly systemCaBundle?: string | false;
  /** Where the per-call temporary directory goes. @default os.tmpdir() */
  readonly tmpDir?: string;
}

export type GitRemoteFailure =
  | 'invalid'
  | 'auth'
  | 'tls'
  | 'notFound'
  | 'refNotFound'
  | 'proxy'
  | 'network'
  | 'timeout'
  | 'failed';

/** A failed lookup: the message names the repository (credentials redacted) and says why. */
export class GitRemoteError extends Error {
  constructor(
    public readonly reason: GitRemoteFailure,
    /** The repository URL with any userinfo replaced by `***`. */
    public readonly repository: string,
    message: string,
    /** git's error output (redacted), when git ran. */
    public readonly detail?: string,
  ) {
    super(message);
    this.name = 'GitRemoteError';
  }
}

export const DEFAULT_LS_REMOTE_TIMEOUT_MS = 30_000;
const SYSTEM_CA_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu, Alpine
  '/etc/pki/tls/certs/ca-bundle.crt', // Fedora, RHEL
  '/etc/ssl/ca-bundle.pem', // openSUSE
  '/etc/ssl/cert.pem', // Alpine (alias), macOS
];
const MAX_OUTPUT_BYTES = 4 << 20;
const CREDENTIALS_ENV = 'KOC_GIT_CREDENTIALS_FILE';
// Run by git's shell with "get", "store" or "erase" appended; only `get` answers, from the 0600 file. The helper's
// text names only the variable that holds the file's path.
const CREDENTIAL_HELPER = `!f() { cat >/dev/null; if [ "$1" = get ]; then cat "$${CREDENTIALS_ENV}"; fi; }; f`;

/** A full commit id: 40 (SHA-1) or 64 (SHA-256) lowercase hex digits. */
export const isFullSha = (ref: string): boolean => /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(ref);

/** Replaces the userinfo of URLs (`https://user:token@host`) with `***`. */
export function redactUrl(text: string): string {
  return text.replace(/(:\/\/)[^/@\s]*@/g, '$1***@');
}

/** The patterns to ask ls-remote for and the entries to take, in order of preference. */
export function refCandidates(ref: string): { patterns: string[]; candidates: string[] } {
  // ls-remote's patterns filter the peeled `^{}` entries too (they must match on their own), so they are asked for
  if (ref === 'HEAD' || ref.startsWith('refs/')) return { patterns: [ref, `${ref}^{}`], candidates: [`${ref}^{}`, ref] };
  return {
    patterns: [`refs/heads/${ref}`, `refs/tags/${ref}`, `refs/tags/${ref}^{}`],
    candidates: [`refs/heads/${ref}`, `refs/tags/${ref}^{}`, `refs/tags/${ref}`],
  };
}

/** The commit `ref` resolves to in ls-remote output (`<hash>\t<ref>` lines), or undefined. */
export function resolveRef(output: string, ref: string): string | undefined {
  if (isFullSha(ref)) return ref;
  const entries = new Map<string, string>();
  for (const line of output.split('\n')) {
    const [hash, name] = line.split('\t');
    if (name !== undefined && /^[0-9a-f]{40,64}$/.test(hash) && !entries.has(name.trim())) entries.set(name.trim(), hash);
  }
  for (const c of refCandidates(ref).candidates) {
    const h = entries.get(c);
    if (h) return h;
  }
  return undefined;
}

/** The commit `opts.ref` of `opts.repository` points at now. Rejects with a GitRemoteError. */
export async function lsRemote(opts: LsRemoteOptions): Promise<string> {
  const shown = redactUrl(opts.repository);
  const fail = (reason: GitRemoteFailure, why: string, detail?: string): never => {
    throw new GitRemoteError(reason, shown, `git ls-remote ${shown} (ref '${opts.ref}'): ${why}${detail ? ` — git said: ${detail}` : ''}`, detail);
  };
  const url = validate(opts, fail);
  if (isFullSha(opts.ref)) return opts.ref;

  const timeoutMs = opts.timeoutMs ?? DEFAULT_LS_REMOTE_TIMEOUT_MS;
  const tmp = opts.tmpDir ?? os.tmpdir();
  const dir = await fsp.mkdtemp(path.join(tmp, 'koc-ls-remote-')).catch((e: Error) =>
    fail('failed', `cannot create a temporary directory under ${tmp} (${e.message}); a read-only root filesystem needs a writable /tmp`));
  try {
    await fsp.chmod(dir, 0o700);
    const env: NodeJS.ProcessEnv = {
      PATH: opts.path ?? process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: dir,
      TMPDIR: dir,
      LC_ALL: 'C',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
      GIT_ALLOW_PROTOCOL: 'http:https',
    };
    const config: Array<[string, string]> = [['credential.helper', '']];
    if (opts.credentials) {
      const file = path.join(dir, 'credentials');
      const clean = (s: string) => s.replace(/[\r\n\0]/g, '');
      const username = clean(opts.credentials.username ?? '') || 'git';
      await fsp.writeFile(file, `username=${username}\npassword=${clean(opts.credentials.password)}\n`, { mode: 0o600, flag: 'wx' });
      env[CREDENTIALS_ENV] = file;
      config.push([`credential.${url.protocol}//${url.host}.helper`, CREDENTIAL_HELPER]);
    }
    if (opts.caPem) {
      const file = path.join(dir, 'ca-bundle.crt');
      const system = await readSystemBundle(opts.systemCaBundle);
      const pem = opts.caPem.endsWith('\n') ? opts.caPem : `${opts.caPem}\n`;
      await fsp.writeFile(file, system ? `${system}${system.endsWith('\n') ? '' : '\n'}${pem}` : pem, { mode: 0o600, flag: 'wx' });
      env.GIT_SSL_CAINFO = file;
    }
    const p = opts.proxy;
    for (const [name, value] of [['HTTPS_PROXY', p?.httpsProxy], ['HTTP_PROXY', p?.httpProxy], ['NO_PROXY', p?.noProxy]] as const) {
      if (!value) continue;
      env[name] = value;
      env[name.toLowerCase()] = value;
    }
    env.GIT_CONFIG_COUNT = String(config.length);
    config.forEach(([k, v], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = k;
      env[`GIT_CONFIG_VALUE_${i}`] = v;
    });

    const { patterns } = refCandidates(opts.ref);
    const r = await run(['ls-remote', '--', opts.repository, ...patterns], env, dir, timeoutMs);
    const secrets = [opts.credentials?.password, p?.httpsProxy, p?.httpProxy].filter((s): s is string => !!s);
    const said = summarize(r.stderr, secrets);
    if (r.spawnError) fail('failed', `cannot run git (${r.spawnError})`);
    if (r.timedOut) fail('timeout', `no answer within ${timeoutMs / 1000}s`, said || undefined);
    if (r.tooLong) fail('failed', `the output exceeded ${MAX_OUTPUT_BYTES} bytes`);
    if (r.code !== 0) {
      const [reason, why] = classify(r.stderr, !!opts.credentials, !!opts.caPem, [p?.httpsProxy, p?.httpProxy].filter((x): x is string => !!x));
      fail(reason, why, said || `exit code ${r.code}`);
    }
    const hash = resolveRef(r.stdout, opts.ref);
    if (!hash) {
      fail('refNotFound', `ref '${opts.ref}' not found${/^[0-9a-fA-F]{4,39}$/.test(opts.ref) ? ' (a commit needs its full 40-hex id)' : !(opts.ref === 'HEAD' || opts.ref.startsWith('refs/')) ? ' (looked for a branch, then a tag)' : ''}`);
    }
    return hash!;
  } finally {
    await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

function validate(opts: LsRemoteOptions, fail: (reason: GitRemoteFailure, why: string) => never): URL {
  const { repository, ref } = opts;
  // eslint-disable-next-line no-control-regex
  const bad = /[\s\x00-\x1f\x7f]/;
  if (!repository || bad.test(repository) || repository.startsWith('-')) fail('invalid', 'not a repository URL');
  let url: URL | undefined;
  try {
    url = new URL(repository);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || !url.host) {
    fail('invalid', 'only http(s) repository URLs can be checked by the controller (credentials are a username and password/token)');
  }
  if (!ref || bad.test(ref) || ref.startsWith('-') || ref.includes('..') || /[~^:?*[\\]/.test(ref)) fail('invalid', 'not a valid ref');
  return url!;
}

async function readSystemBundle(option: string | false | undefined): Promise<string | undefined> {
  if (option === false) return undefined;
  for (const file of option ? [option] : SYSTEM_CA_BUNDLES) {
    try {
      return await fsp.readFile(file, 'utf8');
    } catch {
      // next
    }
  }
  return undefined;
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  tooLong: boolean;
  spawnError?: string;
}

/** Runs git in its own process group; a timeout kills the group (git-remote-https included). */
function run(args: string[], env: NodeJS.ProcessEnv, cwd: string, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn('git', args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let timedOut = false;
    let tooLong = false;
    let spawnError: string | undefined;
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_OUTPUT_BYTES) {
        tooLong = true;
        killGroup();
      } else out.push(d);
    });
    child.stderr!.on('data', (d: Buffer) => {
      if (err.reduce((n, b) => n + b.length, 0) < 64 << 10) err.push(d);
    });
    child.on('error', (e) => (spawnError = e.message));
    child.on('close', (code) => {
      clearTimeout(timer);
      // helpers git left behind (its group) go too
      if (code !== 0) killGroup();
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut, tooLong, spawnError });
    });
  });
}

/** git's error output as one line: redacted, without blank lines, at most ~500 characters. */
function summarize(stderr: string, secrets: readonly string[]): string {
  let text = redactUrl(stderr);
  for (const s of secrets) if (s.length >= 4) text = text.split(s).join('***');
  const line = text.split('\n').map((l) => l.trim()).filter(Boolean).join(' | ');
  return line.length > 500 ? `${line.slice(0, 500)}…` : line;
}

function classify(stderr: string, hasCredentials: boolean, hasCa: boolean, proxies: readonly string[]): [GitRemoteFailure, string] {
  const s = stderr;
  if (/Received HTTP code 407|Proxy Authentication Required/i.test(s)) return ['proxy', 'the proxy requires authentication (put user:password in the proxy URL)'];
  if (/Could not resolve proxy/i.test(s)) return ['proxy', 'the proxy\'s host name does not resolve'];
  const tunnel = /CONNECT tunnel failed, response (\d+)|Received HTTP code (\d+) from proxy/i.exec(s);
  if (tunnel) {
    const code = tunnel[1] ?? tunnel[2];
    return ['proxy', code === '407' ? 'the proxy requires authentication (put user:password in the proxy URL)' : `the proxy refused the tunnel (HTTP ${code})`];
  }
  if (/Proxy CONNECT aborted/i.test(s)) return ['proxy', 'the proxy closed the tunnel'];
  const prompt = /could not read (?:Username|Password) for '([^']+)'/.exec(s);
  if (prompt && proxies.some((p) => proxyEndpoint(p) === proxyEndpoint(prompt[1]))) return ['proxy', 'the proxy needs a password (put user:password in the proxy URL)'];
  const connect = /Failed to connect to (\S+) port (\d+)/.exec(s);
  if (connect && proxies.some((p) => proxyEndpoint(p) === `${connect[1]}:${connect[2]}`)) return ['proxy', `cannot connect to the proxy ${connect[1]}:${connect[2]}`];
  if (/Authentication failed|could not read Username|could not read Password|terminal prompts disabled|returned error: 401|returned error: 403/i.test(s)) {
    return ['auth', hasCredentials
      ? 'authentication failed: the Secret\'s username/password (token) were refused'
      : 'the repository needs credentials (set git.secretRef to a Secret with keys username and password)'];
  }
  if (/certificate|SSL|TLS|CAfile/i.test(s)) {
    return ['tls', hasCa
      ? 'TLS verification failed even with the CA bundle (is it the CA that signed the server certificate?)'
      : 'TLS verification failed: the server certificate is not trusted (set spec.caBundle to the private CA)'];
  }
  if (/returned error: 404|Repository not found|not found|does not appear to be a git repository/i.test(s)) return ['notFound', 'the repository does not exist (or is not visible with these credentials)'];
  if (/Could not resolve host/i.test(s)) return ['network', 'the host name does not resolve'];
  if (/Failed to connect|Connection refused|Connection timed out|Operation timed out|Couldn't connect|Network is unreachable/i.test(s)) {
    return ['network', 'cannot connect to the server'];
  }
  if (/returned error: (\d+)/.test(s)) return ['failed', `the server answered HTTP ${/returned error: (\d+)/.exec(s)![1]}`];
  if (/transport '.*' not allowed/i.test(s)) return ['invalid', 'the URL\'s transport is not allowed (only http and https)'];
  return ['failed', 'git ls-remote failed'];
}

/** host:port of a proxy URL (default port 1080 as curl assumes, 80/443 by scheme). */
function proxyEndpoint(proxy: string): string | undefined {
  try {
    const u = new URL(proxy.includes('://') ? proxy : `http://${proxy}`);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    return `${host}:${u.port || (u.protocol === 'https:' ? '443' : '1080')}`;
  } catch {
    return undefined;
  }
}
