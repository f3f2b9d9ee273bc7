import { readAsset } from '../assets';

/**
 * The POSIX shell scripts of the init containers and the git-sync sidecar, emitted once per chart and namespace in
 * the scripts ConfigMap (scripts-configmap.ts) and run as `sh /kubeopencode/scripts/<file>`, every input in env vars. The sources live in assets/scripts/*.sh:
 * common.sh (logging, CA bundle, credential helper, retries) is prepended to each script so every text is
 * self-contained, and full-line comments and blank lines are dropped to keep the manifests compact (the env
 * contract is documented in each source file's header). The option interfaces below cover what the constructs set;
 * the scripts also read knobs no construct sets (RETRY_ATTEMPTS, RETRY_DELAY, GIT_SYNC_MAX_FAILURES,
 * URL_HEADERS_FILE), which the tests in test/pod/scripts pass as plain env.
 *
 * The scripts run under dash and busybox ash (images alpine/git and curlimages/curl); the tests in
 * test/pod/scripts run these exact texts, as files, under both.
 */

const cache = new Map<string, string>();

/** Drops the shebang, full-line comments and blank lines. The scripts contain no heredocs or multi-line strings. */
export function stripShellComments(text: string): string {
  return text
    .split('\n')
    .filter((line) => {
      const t = line.trim();
      return t !== '' && !t.startsWith('#');
    })
    .join('\n');
}

function compose(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    const common = stripShellComments(readAsset('scripts', 'common.sh'));
    const body = stripShellComments(readAsset('scripts', `${name}.sh`));
    text = `# kubeopencode ${name} (cdk8s-kubeopencode assets/scripts/${name}.sh + common.sh)\n${common}\n${body}\n`;
    cache.set(name, text);
  }
  return text;
}

/** Checks out a Git repository into a (possibly non-empty) directory; skips when `.git` is already there. */
export function gitInitScript(): string {
  return compose('git-init');
}

/** Downloads an http(s) URL atomically into a file. */
export function urlFetchScript(): string {
  return compose('url-fetch');
}

/** git-sync v4-style loop (or one-time sync): bare repo + worktree per commit + atomic symlink flip. */
export function gitSyncScript(): string {
  return compose('git-sync');
}

/** Env as name/value pairs; undefined values are meant to be left out (see scriptContainer in ./system). */
export type ScriptEnv = Array<[string, string | undefined]>;

/** Inputs shared by all scripts. */
export interface CommonScriptOptions {
  /** Shown in every log line, e.g. `git-init[codebase]: ...`. */
  readonly contextName?: string;
}

/**
 * CUSTOM_CA_CERT_PATH, SYSTEM_CA_BUNDLE, TMPDIR and the proxy variables are read by every script too; they come
 * from the shared wiring (ca-bundle.ts, proxy.ts), not from these options.
 */
export interface GitScriptOptions extends CommonScriptOptions {
  /** Repository URL (http or https). */
  readonly repository: string;
  /**
   * Branch, tag, refs/... name or full commit SHA.
   * @default HEAD
   */
  readonly ref?: string;
  /**
   * History depth; 0 = full history.
   * @default 1
   */
  readonly depth?: number;
  /** @default false */
  readonly recurseSubmodules?: boolean;
  /** Directory holding `username` (optional) and `password` files, e.g. a mounted Secret. */
  readonly credentialsDir?: string;
}

export interface GitInitOptions extends GitScriptOptions {
  /** Absolute directory to check out into (may exist and be non-empty). */
  readonly dest: string;
  /**
   * When `dest/.git` exists: update it to `ref` (local changes to tracked files are stashed) instead of skipping.
   * @default false
   */
  readonly updateExisting?: boolean;
}

export interface GitSyncOptions extends GitScriptOptions {
  /** Absolute directory for the bare repo and `.worktrees/`. */
  readonly root: string;
  /** Absolute path of the symlink consumers read (inside `root` for a relative, mount-independent target). */
  readonly link: string;
  /**
   * Seconds between checks of the remote.
   * @default 300
   */
  readonly intervalSeconds?: number;
  /** Sync once and exit (the init container of a HotReload context). @default false */
  readonly oneTime?: boolean;
}

export interface UrlFetchOptions extends CommonScriptOptions {
  /** http(s) URL. */
  readonly source: string;
  /** Absolute file path to write. */
  readonly dest: string;
  /**
   * Seconds allowed for one attempt.
   * @default 30
   */
  readonly timeoutSeconds?: number;
}

const str = (v: number | boolean | undefined): string | undefined => (v === undefined ? undefined : String(v));

function commonEnv(o: CommonScriptOptions): ScriptEnv {
  return [['CONTEXT_NAME', o.contextName]];
}

function gitEnv(o: GitScriptOptions): ScriptEnv {
  return [
    ['GIT_REPO', o.repository],
    ['GIT_REF', o.ref],
    ['GIT_DEPTH', str(o.depth)],
    // only when on: the scripts default to false (a line less per context in every manifest)
    ['GIT_RECURSE_SUBMODULES', o.recurseSubmodules ? 'true' : undefined],
    ['GIT_CREDENTIALS_DIR', o.credentialsDir],
  ];
}

/** Env of gitInitScript(). */
export function gitInitEnv(o: GitInitOptions): ScriptEnv {
  // only when on, like GIT_RECURSE_SUBMODULES: the script defaults to false
  return [...commonEnv(o), ...gitEnv(o), ['GIT_DEST', o.dest], ['GIT_UPDATE_EXISTING', o.updateExisting ? 'true' : undefined]];
}

/** Env of gitSyncScript(). */
export function gitSyncEnv(o: GitSyncOptions): ScriptEnv {
  return [
    ...commonEnv(o),
    ...gitEnv(o),
    ['GIT_SYNC_ROOT', o.root],
    ['GIT_SYNC_LINK', o.link],
    ['GIT_SYNC_INTERVAL', str(o.intervalSeconds)],
    ['GIT_SYNC_ONE_TIME', str(o.oneTime)],
  ];
}

/** Env of urlFetchScript(). */
export function urlFetchEnv(o: UrlFetchOptions): ScriptEnv {
  return [
    ...commonEnv(o),
    ['URL_SOURCE', o.source],
    ['URL_DEST', o.dest],
    ['URL_TIMEOUT', str(o.timeoutSeconds)],
  ];
}
