/**
 * Start/stop etcd + our test-apiserver (scripts/apiserver) for integration tests. No dependency on
 * @kubernetes/client-node, so jest's globalSetup can load it cheaply; tests use ./apiserver.
 *
 * Everything listens on 127.0.0.1 on free ports, in a fresh temp dir, and is stopped by PID. A small
 * watchdog shell kills the servers if the process that started them dies without stopping them.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const PROVISION = path.join(REPO_ROOT, 'scripts', 'apiserver', 'provision.sh');

/** Env var set by startTestCluster: path of the kubeconfig of the test cluster. */
export const KUBECONFIG_ENV = 'KUBECONFIG_TEST';
/** Env var set by startTestCluster: path of the JSON state file (TestClusterState). */
export const STATE_ENV = 'KUBEOPENCODE_TEST_CLUSTER_STATE';

export interface TestClusterState {
  /** kubeconfig for the cluster (written by us, or the user's KUBECONFIG for an existing cluster) */
  kubeconfig: string;
  /** https://127.0.0.1:port */
  server: string;
  /** true when an existing cluster is used (nothing was started) */
  external: boolean;
  /** temp dir with certs, etcd data and logs (absent for an external cluster) */
  dir?: string;
  pids: { etcd?: number; apiserver?: number; watchdog?: number };
  /** PID of the process that started the cluster */
  owner: number;
  startedMs?: number;
}

export interface ProvisionedPaths {
  key: string;
  etcd: string;
  testApiserver: string;
  oaDump: string;
}

/** Paths of the provisioned binaries; throws ONE clear line if they are not provisioned. */
export function provisionedPaths(): ProvisionedPaths {
  // env: jest gives tests their own process.env object; child_process would otherwise use the real one
  const r = spawnSync('bash', [PROVISION, '--print-paths'], { encoding: 'utf8', env: process.env });
  if (r.status !== 0) {
    throw new Error('test-apiserver binaries are not provisioned for this checkout: run `bash scripts/apiserver/provision.sh` (as root; ~3-5 min the first time, cached after)');
  }
  const p = JSON.parse(r.stdout) as ProvisionedPaths;
  for (const f of [p.etcd, p.testApiserver]) {
    if (!fs.existsSync(f)) throw new Error(`test-apiserver binaries are not provisioned (${f} missing): run \`bash scripts/apiserver/provision.sh\``);
  }
  return p;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function httpGetOk(url: string, ca?: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.get(url, { ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
  });
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

async function waitUntil(what: string, child: ChildProcess, log: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) during start; last log lines:\n${tail(log)}`);
    }
    if (await probe()) return;
    await sleep(25);
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms; last log lines:\n${tail(log)}`);
}

function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopPid(pid: number | undefined, graceMs = 5000): Promise<void> {
  if (!isAlive(pid)) return;
  try { process.kill(pid!, 'SIGTERM'); } catch { return; }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(25);
  if (isAlive(pid)) { try { process.kill(pid!, 'SIGKILL'); } catch { /* gone */ } }
  while (isAlive(pid)) await sleep(10);
}

function writeKubeconfig(file: string, server: string, caFile: string): void {
  // The test-apiserver treats every request as system:masters; the token is only there because some
  // clients insist on a user with credentials.
  fs.writeFileSync(file, [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: kubeopencode-test',
    `  cluster: {server: "${server}", certificate-authority: "${caFile}"}`,
    'users:',
    '- name: test-admin',
    '  user: {token: test-admin}',
    'contexts:',
    '- name: kubeopencode-test',
    '  context: {cluster: kubeopencode-test, user: test-admin, namespace: default}',
    'current-context: kubeopencode-test',
    '',
  ].join('\n'), { mode: 0o600 });
}

/** Default location of the state file for the cluster started by process `pid` (workers use their ppid). */
export function stateFileFor(pid: number): string {
  return path.join(os.tmpdir(), `kubeopencode-test-cluster-${pid}.json`);
}

function publish(state: TestClusterState): void {
  const file = stateFileFor(state.owner);
  fs.writeFileSync(file, JSON.stringify(state, null, 2));
  process.env[KUBECONFIG_ENV] = state.kubeconfig;
  process.env[STATE_ENV] = file;
}

/**
 * Start etcd + test-apiserver (or adopt the cluster of KUBECONFIG when
 * KUBEOPENCODE_USE_EXISTING_CLUSTER=1), publish the kubeconfig path in process.env.KUBECONFIG_TEST and
 * the state file path in process.env.KUBEOPENCODE_TEST_CLUSTER_STATE, and return the state.
 */
export async function startTestCluster(): Promise<TestClusterState> {
  const existing = process.env.KUBECONFIG;
  if (process.env.KUBEOPENCODE_USE_EXISTING_CLUSTER === '1' && existing) {
    const kubeconfig = existing.split(path.delimiter)[0];
    const state: TestClusterState = { kubeconfig, server: '', external: true, pids: {}, owner: process.pid };
    publish(state);
    return state;
  }
  const bins = provisionedPaths();
  let lastErr: unknown;
  // Free ports are picked then released; another process may grab one in between, so retry.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(bins);
    } catch (e) {
      lastErr = e;
    }
  }
  throw lastErr;
}

async function startOnce(bins: ProvisionedPaths): Promise<TestClusterState> {
  const t0 = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeopencode-apiserver-'));
  const cert = path.join(dir, 'apiserver.crt');
  const key = path.join(dir, 'apiserver.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=kubeopencode-test-apiserver',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'pipe' });
  const ca = fs.readFileSync(cert);
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const etcdLog = path.join(dir, 'etcd.log');
  const apiLog = path.join(dir, 'apiserver.log');
  const state: TestClusterState = {
    kubeconfig: path.join(dir, 'kubeconfig'), server: `https://127.0.0.1:${apiPort}`, external: false, dir, pids: {}, owner: process.pid,
  };

  const start = (bin: string, args: string[], log: string): ChildProcess => {
    const fd = fs.openSync(log, 'a');
    const child = spawn(bin, args, { stdio: ['ignore', fd, fd], cwd: dir });
    fs.closeSync(fd);
    child.unref();
    return child;
  };
  try {
    const etcd = start(bins.etcd, ['--name', 'default', '--data-dir', path.join(dir, 'etcd'),
      '--listen-client-urls', etcdUrl, '--advertise-client-urls', etcdUrl,
      '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl, '--initial-cluster', `default=${peerUrl}`,
      '--log-level', 'warn', '--unsafe-no-fsync'], etcdLog);
    state.pids.etcd = etcd.pid;
    await waitUntil('etcd', etcd, etcdLog, 20000, () => httpGetOk(`${etcdUrl}/health`));

    const api = start(bins.testApiserver, ['--etcd', etcdUrl, '--bind', '127.0.0.1', '--port', String(apiPort),
      '--tls-cert', cert, '--tls-key', key], apiLog);
    state.pids.apiserver = api.pid;
    await waitUntil('test-apiserver', api, apiLog, 60000, () => httpGetOk(`${state.server}/readyz`, ca));

    // Watchdog: if our process dies without stopTestCluster, take the servers down with it.
    const servers = `${state.pids.apiserver} ${state.pids.etcd}`;
    const watchdog = spawn('sh', ['-c',
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill ${servers} 2>/dev/null; sleep 5; kill -9 ${servers} 2>/dev/null; rm -rf '${dir}' '${stateFileFor(process.pid)}'`],
    { stdio: 'ignore', detached: true });
    watchdog.unref();
    state.pids.watchdog = watchdog.pid;

    writeKubeconfig(state.kubeconfig, state.server, cert);
    state.startedMs = Date.now() - t0;
    publish(state);
    return state;
  } catch (e) {
    await stopTestCluster(state);
    throw e;
  }
}

/** Read the state of the running test cluster (from env, else the state file of our parent process). */
export function readTestClusterState(): TestClusterState | undefined {
  for (const file of [process.env[STATE_ENV], stateFileFor(process.pid), stateFileFor(process.ppid)]) {
    if (!file || !fs.existsSync(file)) continue;
    const state = JSON.parse(fs.readFileSync(file, 'utf8')) as TestClusterState;
    if (state.external || isAlive(state.pids.apiserver)) return state; // else left over by a crashed run
  }
  return undefined;
}

/** Stop what startTestCluster started (by PID), remove its temp dir and state file. */
export async function stopTestCluster(state: TestClusterState | undefined = readTestClusterState()): Promise<void> {
  if (!state) return;
  if (!state.external) {
    // The watchdog is a process group leader (detached): signal the group so its `sleep` goes too.
    if (isAlive(state.pids.watchdog)) { try { process.kill(-state.pids.watchdog!, 'SIGKILL'); } catch { /* gone */ } }
    await stopPid(state.pids.apiserver); // before etcd: it would otherwise spin reconnecting
    await stopPid(state.pids.etcd);
    if (state.dir && process.env.KUBEOPENCODE_KEEP_TEST_CLUSTER !== '1') fs.rmSync(state.dir, { recursive: true, force: true });
  }
  const file = stateFileFor(state.owner);
  if (fs.existsSync(file)) fs.rmSync(file, { force: true });
  if (process.env[STATE_ENV] === file) delete process.env[STATE_ENV];
  if (process.env[KUBECONFIG_ENV] === state.kubeconfig) delete process.env[KUBECONFIG_ENV];
}
