import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Obj, expandK8s, resolveEnv } from '../fixtures/kubelet';

/**
 * A real node for synthesized pods: each container runs under Debian's podman with runc, in the images built by
 * scripts/node/provision.sh, with the pod spec resolved the way the kubelet resolves it (podman's own `kube play`
 * does not expand `$(VAR)` nor unescape `$$`, so we drive `podman run` per container):
 *
 * - env: envFrom, value (with `$(VAR)` / `$$`), valueFrom configMapKeyRef / secretKeyRef / fieldRef;
 *   `$(VAR)` in command and args; `command` replaces the image's ENTRYPOINT (and drops its CMD), `args` replaces
 *   its CMD; neither → the image's ENTRYPOINT + CMD;
 * - volumes: emptyDir, configMap / secret / projected (the kubelet's atomic-writer layout `..data` →
 *   `..<stamp>/key`, `key` → `..data/key`, items, defaultMode / mode), PVC (a host dir kept across the pods of a
 *   Node); subPath / subPathExpr; readOnly; fsGroup ownership; mounts handed to runc in containerd's order (stable
 *   sort by the number of `/` in the destination: parents first), so runc's refusal to create a mount point below
 *   a read-only mount surfaces as it does on a cluster;
 * - securityContext (pod, then container): runAsUser / runAsGroup / fsGroup / supplementalGroups,
 *   runAsNonRoot (the kubelet's own refusal, its message, checked against the image's `Config.User`),
 *   readOnlyRootFilesystem (no tmpfs on /tmp, unlike podman's default), allowPrivilegeEscalation,
 *   capabilities (from containerd's default set), seccompProfile (unset = Unconfined, as the kubelet);
 * - init containers in order, each to completion (a failure fails the pod: exit code and stderr); sidecars
 *   (`restartPolicy: Always` init containers) start and keep running; then the containers, concurrently;
 * - probes (httpGet / tcpSocket / exec) on demand (waitReady);
 * - network: every pod of a Node shares ONE network namespace that has only loopback (`ip netns add`); Service
 *   names resolve to 127.0.0.1 (`--add-host`); a pod declaring a containerPort that a running pod of the Node declares
 *   is refused (on a cluster each pod has its own network; here the second server could not listen). Fixtures on the
 *   host's loopback are exposed inside through a relay (test/node/relay.js, a unix socket across the namespace
 *   boundary); forward() does the reverse for the test.
 *
 * - service accounts (PodInput.serviceAccount): the token, CA and namespace files and KUBERNETES_SERVICE_* env of a
 *   pod whose automountServiceAccountToken is not false, pointing at a server exposed into the node.
 *
 * Not modelled: restarts, resource limits, the token's content (the test API server takes any bearer), image pulls
 * (images must be local).
 * Cleanup: every container carries a label with the Node's id; a watchdog shell removes them and the namespace if
 * the jest process dies; a new Node also sweeps what a dead process left behind.
 */

const REPO = path.resolve(__dirname, '..', '..');
const PROVISION = 'scripts/node/provision.sh';
const LABEL_NODE = 'io.kubeopencode.test.node';
const LABEL_OWNER = 'io.kubeopencode.test.owner';
/** containerd's default capability set (what a container gets unless the spec drops or adds). */
const CONTAINERD_DEFAULT_CAPS = ['CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE'];

// ---------------------------------------------------------------------------------------------------------------
// provisioning

export const SKIP_VAR = 'KUBEOPENCODE_SKIP_NODE_TIER';

/** True when the tier is explicitly skipped; the test files then register one test saying so. */
export function nodeTierSkipped(): boolean {
  return process.env[SKIP_VAR] === '1';
}

let envCache: Record<string, string> | undefined;

/**
 * The podman environment of the provisioned tier (CONTAINERS_CONF etc.). Throws ONE line saying why when the tier
 * cannot run here or is not provisioned.
 */
export function nodeEnv(): Record<string, string> {
  if (envCache) return envCache;
  const check = spawnSync('bash', [path.join(REPO, PROVISION), '--check'], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(check.stderr.trim().split('\n')[0] || `${PROVISION} --check failed`);
  const r = spawnSync('bash', [path.join(REPO, PROVISION), '--print-env'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr.trim().split('\n')[0] || `the node tier is not provisioned: run bash ${PROVISION}`);
  const file = r.stdout.trim();
  const env: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
  }
  return (envCache = env);
}

function podmanEnv(): NodeJS.ProcessEnv {
  return { ...process.env, ...nodeEnv() };
}

/** Runs podman to completion (for short commands: inspect, rm, exec). */
export function podman(args: string[], o: { input?: string; timeoutMs?: number } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('podman', args, { env: podmanEnv(), encoding: 'utf8', input: o.input, timeout: o.timeoutMs ?? 60_000, maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export interface ImageConfig {
  readonly user: string;
  readonly entrypoint: string[];
  readonly cmd: string[];
  readonly env: string[];
  readonly workingDir: string;
}

const imageConfigs = new Map<string, ImageConfig>();

/** The image's config (User, Entrypoint, Cmd…); throws naming the provision script when the image is not local. */
export function imageConfig(image: string): ImageConfig {
  const cached = imageConfigs.get(image);
  if (cached) return cached;
  const r = podman(['image', 'inspect', '--format', 'json', image]);
  if (r.code !== 0) throw new Error(`image ${image} is not on the node (the node pulls nothing): add it to test/node/images/ and run bash ${PROVISION}`);
  const c = JSON.parse(r.stdout)[0].Config ?? {};
  const cfg: ImageConfig = { user: c.User ?? '', entrypoint: c.Entrypoint ?? [], cmd: c.Cmd ?? [], env: c.Env ?? [], workingDir: c.WorkingDir ?? '' };
  imageConfigs.set(image, cfg);
  return cfg;
}

// ---------------------------------------------------------------------------------------------------------------
// pure kubelet rules (exported for the self-tests)

/** containerd's mount order: a stable sort by the number of path separators of the destination (parents first). */
export function containerdMountOrder<T extends { destination: string }>(mounts: T[]): T[] {
  const parts = (d: string) => (path.posix.normalize(d).replace(/\/+$/, '').match(/\//g) ?? []).length;
  return mounts.map((m, i) => ({ m, i })).sort((x, y) => parts(x.m.destination) - parts(y.m.destination) || x.i - y.i).map((x) => x.m);
}

/**
 * The kubelet's runAsNonRoot check (kuberuntime verifyRunAsNonRoot): undefined when the container may start, else
 * the kubelet's message (the pod then shows CreateContainerConfigError).
 */
export function runAsNonRootError(pod: { name: string; namespace: string; uid: string }, container: string, runAsUser: number | undefined, imageUser: string): string | undefined {
  const podRef = `${pod.name}_${pod.namespace}(${pod.uid})`;
  if (runAsUser !== undefined) {
    return runAsUser === 0 ? `container's runAsUser breaks non-root policy (pod: "${podRef}", container: ${container})` : undefined;
  }
  const user = imageUser.split(':')[0];
  if (user !== '' && !/^\d+$/.test(user)) {
    return `container has runAsNonRoot and image has non-numeric user (${user}), cannot verify user is non-root (pod: "${podRef}", container: ${container})`;
  }
  if (user === '' || Number(user) === 0) return `container has runAsNonRoot and image will run as root (pod: "${podRef}", container: ${container})`;
  return undefined;
}

/** The capabilities a container gets: containerd's defaults, minus drop (ALL drops all), plus add. */
export function effectiveCapabilities(caps: Obj | undefined): string[] {
  const norm = (c: string) => c.toUpperCase().replace(/^CAP_/, '');
  const drop = (caps?.drop ?? []).map(norm);
  let set = drop.includes('ALL') ? [] : CONTAINERD_DEFAULT_CAPS.filter((c) => !drop.includes(c));
  for (const a of (caps?.add ?? []).map(norm)) if (!set.includes(a)) set = [...set, a];
  return set;
}

/** command/args → podman's --entrypoint and trailing args, with the kubelet's override rules. */
export function entrypointAndArgs(c: Obj, env: Record<string, string>, image: ImageConfig): { entrypoint?: string[]; args: string[] } {
  const expand = (xs: string[]) => xs.map((x) => expandK8s(String(x), env));
  if (c.command) return { entrypoint: expand(c.command), args: expand(c.args ?? []) };
  if (c.args) return { entrypoint: image.entrypoint.length ? image.entrypoint : undefined, args: expand(c.args) };
  return { args: [] };
}

// ---------------------------------------------------------------------------------------------------------------
// the node

export interface PodInput {
  /** The pod's name (a Deployment's pods get `<deployment>-<hash>`; any name will do). */
  readonly name: string;
  /** @default 'default' */
  readonly namespace?: string;
  /** The pod spec: a Deployment's / Job's `spec.template.spec`, a PodTemplate's `template.spec`. */
  readonly spec: Obj;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  /** ConfigMaps by name (data), for env and volumes. */
  readonly configMaps?: Record<string, Record<string, string>>;
  /** Secrets by name (decoded data). */
  readonly secrets?: Record<string, Record<string, string>>;
  /** Per-container env added after the kubelet's resolution (what the controller would set on a task pod, etc.). */
  readonly extraEnv?: Record<string, Record<string, string>>;
  /**
   * The API server a pod's in-cluster config points at. When set and the pod spec's `automountServiceAccountToken`
   * is not false, every container gets what the kubelet gives it: env `KUBERNETES_SERVICE_HOST` / `_PORT` /
   * `_PORT_HTTPS` and `/var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}` (read-only, the
   * atomic-writer layout, mode 0644 as the kubelet's `kube-api-access-*` projected volume). The server must be
   * reachable inside the node at that address (`Node.expose`).
   * @default - no service-account token and no KUBERNETES_SERVICE_* env (as `automountServiceAccountToken: false`)
   */
  readonly serviceAccount?: ServiceAccountEmulation;
}

export interface ServiceAccountEmulation {
  /** `KUBERNETES_SERVICE_HOST` (e.g. 127.0.0.1: the API server exposed into the node on the same port). */
  readonly host: string;
  readonly port: number;
  /** PEM of the CA that signed the API server's certificate (the file's content, not its path). */
  readonly caCert: string;
  /** The bearer token. @default 'node-harness-token' */
  readonly token?: string;
}

/** Where the kubelet mounts a pod's service-account token, CA and namespace. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export class PodFailure extends Error {
  constructor(
    message: string,
    public readonly container: string,
    /** CreateContainerConfigError (the kubelet refused), StartError (the runtime could not start it), Error (it ran and failed). */
    public readonly reason: 'CreateContainerConfigError' | 'StartError' | 'Error',
    public readonly exitCode?: number,
    public readonly stderr = '',
  ) {
    super(message);
  }
}

export interface ContainerExit {
  readonly name: string;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The runtime's message when the container never started (runc's mount errors, exec not found…). */
  readonly startError?: string;
  readonly ms: number;
}

let nodeCounter = 0;

export interface NodeOptions {
  /** Host names that resolve to 127.0.0.1 in every pod (Service names: `svc`, `svc.ns.svc.cluster.local`). */
  readonly hosts?: string[];
}

export class Node {
  public readonly id: string;
  public readonly netns: string;
  public readonly dir: string;
  private readonly hosts: string[];
  private readonly relays: ChildProcess[] = [];
  private readonly servers: net.Server[] = [];
  private readonly pods: Pod[] = [];
  private watchdog?: ChildProcess;
  /** Milliseconds each pod took from startPod() to its containers running, by pod name. */
  public readonly podStartMs: Record<string, number> = {};

  private constructor(o: NodeOptions) {
    this.id = `koc${process.pid}n${++nodeCounter}${crypto.randomBytes(2).toString('hex')}`;
    this.netns = this.id;
    this.hosts = o.hosts ?? [];
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `${this.id}-`));
    fs.chmodSync(this.dir, 0o755);
  }

  /** A node with its loopback-only network namespace. Throws one line when the tier cannot run here. */
  public static async start(o: NodeOptions = {}): Promise<Node> {
    const env = nodeEnv();
    sweepLeftovers();
    const node = new Node(o);
    execFileSync('ip', ['netns', 'add', node.netns]);
    execFileSync('ip', ['-n', node.netns, 'link', 'set', 'lo', 'up']);
    // removes our containers and the namespace if this process dies without stop()
    const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ` +
      `podman rm -f -t 0 --filter label=${LABEL_NODE}=${node.id} >/dev/null 2>&1; ip netns del ${node.netns} 2>/dev/null; rm -rf '${node.dir}'`;
    node.watchdog = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore', env: { ...process.env, ...env } });
    node.watchdog.unref();
    return node;
  }

  /** `/run/netns/<id>`: what containers join. */
  public get netnsPath(): string {
    return `/run/netns/${this.netns}`;
  }

  /** Also resolve these names to 127.0.0.1 in pods started from now on. */
  public addHosts(...names: string[]): void {
    this.hosts.push(...names);
  }

  /** Host directory of a PVC (kept across the pods of this node). */
  public pvcDir(claim: string): string {
    const d = path.join(this.dir, 'pvc', claim);
    if (!fs.existsSync(d)) {
      fs.mkdirSync(d, { recursive: true });
      fs.chmodSync(d, 0o777);
    }
    return d;
  }

  /**
   * Makes the host's 127.0.0.1:`hostPort` (a fixture in the jest process) reachable inside the node as
   * 127.0.0.1:`podPort` (default: the same port).
   */
  public async expose(hostPort: number, podPort = hostPort): Promise<void> {
    const sock = path.join(this.dir, `expose-${podPort}.sock`);
    const server = net.createServer((c) => {
      const up = net.connect(hostPort, '127.0.0.1');
      c.pipe(up).pipe(c);
      const close = () => { c.destroy(); up.destroy(); };
      c.on('error', close);
      up.on('error', close);
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(sock, resolve));
    this.servers.push(server);
    await this.relay(['tcp-to-unix', String(podPort), sock]);
  }

  /** A host port on 127.0.0.1 that reaches 127.0.0.1:`podPort` inside the node (for the test's own requests). */
  public async forward(podPort: number): Promise<number> {
    const sock = path.join(this.dir, `forward-${podPort}-${crypto.randomBytes(3).toString('hex')}.sock`);
    await this.relay(['unix-to-tcp', sock, String(podPort)]);
    const server = net.createServer((c) => {
      const up = net.connect(sock);
      c.pipe(up).pipe(c);
      const close = () => { c.destroy(); up.destroy(); };
      c.on('error', close);
      up.on('error', close);
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    this.servers.push(server);
    return (server.address() as net.AddressInfo).port;
  }

  private async relay(args: string[]): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', this.netns, process.execPath, path.join(__dirname, 'relay.js'), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.relays.push(child);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`relay ${args.join(' ')} exited ${code}: ${err}`)));
    });
  }

  /**
   * Runs a pod as the kubelet would: the init containers in order, each to completion (sidecars keep running),
   * then every container at once. Resolves when the containers were handed to the runtime; throws a PodFailure
   * when the kubelet would refuse a container or an init container fails.
   */
  public async startPod(input: PodInput): Promise<Pod> {
    this.refusePortClash(input);
    const t0 = Date.now();
    const pod = new Pod(this, input, this.hosts);
    this.pods.push(pod);
    await pod.start();
    this.podStartMs[input.name] = Date.now() - t0;
    return pod;
  }

  /**
   * On a cluster every pod has its own network namespace; here all pods of a Node share one, so two running pods
   * that declare the same containerPort would clash: the second server cannot listen, and its probes would be
   * answered by the first. Refuse that instead of letting a test read the wrong pod.
   */
  private refusePortClash(input: PodInput): void {
    const declared = (spec: Obj): Array<{ container: string; port: number }> =>
      [...(spec.initContainers ?? []), ...(spec.containers ?? [])].flatMap((c: Obj) => (c.ports ?? []).map((p: Obj) => ({ container: c.name as string, port: Number(p.containerPort) })));
    for (const other of this.pods) {
      const live = declared(other.spec).filter((d) => other.isRunning(d.container));
      for (const mine of declared(input.spec)) {
        const clash = live.find((d) => d.port === mine.port);
        if (clash) {
          throw new Error(`pod ${input.name}: container ${mine.container}'s port ${mine.port} is in use by the running pod ${other.name} (container ${clash.container}): ` +
            'all pods of a Node share one network namespace; stop that pod first or start this one on another Node');
        }
      }
    }
  }

  /** Removes every container, the relays and the namespace. */
  public async stop(): Promise<void> {
    for (const p of this.pods) await p.stop();
    podman(['rm', '-f', '-t', '0', '--filter', `label=${LABEL_NODE}=${this.id}`]);
    for (const r of this.relays) { r.stdin?.end(); r.kill('SIGKILL'); }
    for (const s of this.servers) s.close();
    spawnSync('ip', ['netns', 'del', this.netns]);
    fs.rmSync(this.dir, { recursive: true, force: true });
    if (this.watchdog?.pid) { try { process.kill(-this.watchdog.pid, 'SIGKILL'); } catch { /* gone */ } }
  }
}

/** Containers and namespaces left by a test process that died before its watchdog could act (e.g. a reboot of jest). */
function sweepLeftovers(): void {
  const r = podman(['ps', '-a', '--filter', `label=${LABEL_OWNER}`, '--format', `{{.ID}} {{index .Labels "${LABEL_OWNER}"}}`]);
  const dead = r.stdout.split('\n').filter(Boolean).map((l) => l.split(' ')).filter(([, pid]) => !isAlive(Number(pid))).map(([id]) => id);
  if (dead.length) podman(['rm', '-f', '-t', '0', ...dead]);
  const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const m of ns.matchAll(/^koc(\d+)n\d+\w*/gm)) if (!isAlive(Number(m[1]))) spawnSync('ip', ['netns', 'del', m[0]]);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the pod

interface Running {
  readonly child: ChildProcess;
  readonly done: Promise<ContainerExit>;
  stdout: string;
  stderr: string;
  exited: boolean;
}

export class Pod {
  public readonly name: string;
  public readonly namespace: string;
  public readonly uid: string;
  public readonly spec: Obj;
  private readonly dir: string;
  private readonly running = new Map<string, Running>();
  private readonly volumeDirs = new Map<string, string>();
  /** Results of the init containers that ran to completion, by name. */
  public readonly initResults: Record<string, ContainerExit> = {};

  constructor(private readonly node: Node, private readonly input: PodInput, private readonly hosts: string[]) {
    this.name = input.name;
    this.namespace = input.namespace ?? 'default';
    this.uid = crypto.randomUUID();
    this.spec = input.spec;
    this.dir = path.join(node.dir, 'pods', this.name);
    fs.mkdirSync(this.dir, { recursive: true });
  }

  private get containerName(): (c: string) => string {
    return (c) => `${this.node.id}-${this.name}-${c}`.replace(/[^a-zA-Z0-9_.-]/g, '-');
  }

  public async start(): Promise<void> {
    this.materializeVolumes();
    for (const c of this.spec.initContainers ?? []) {
      if (c.restartPolicy === 'Always') {
        this.launch(c);
        continue;
      }
      const exit = await this.launch(c).done;
      this.initResults[c.name] = exit;
      if (exit.startError) throw new PodFailure(`init container ${c.name} could not start (StartError): ${exit.startError}`, c.name, 'StartError', exit.exitCode, exit.stderr);
      if (exit.exitCode !== 0) {
        throw new PodFailure(`init container ${c.name} failed with exit code ${exit.exitCode} (Init:Error): ${exit.stderr.trim() || exit.stdout.trim()}`, c.name, 'Error', exit.exitCode, exit.stderr);
      }
    }
    for (const c of this.spec.containers) this.launch(c);
  }

  /** Output so far of a container (init or main). */
  public logs(container: string): { stdout: string; stderr: string } {
    const r = this.running.get(container);
    if (!r) throw new Error(`pod ${this.name}: container ${container} was not started`);
    return { stdout: r.stdout, stderr: r.stderr };
  }

  /** Resolves when the container has exited (or failed to start). */
  public exited(container: string): Promise<ContainerExit> {
    const r = this.running.get(container);
    if (!r) throw new Error(`pod ${this.name}: container ${container} was not started`);
    return r.done;
  }

  public isRunning(container: string): boolean {
    const r = this.running.get(container);
    return !!r && !r.exited;
  }

  /** Runs a command in a running container (`kubectl exec`). */
  public exec(container: string, argv: string[]): { code: number; stdout: string; stderr: string } {
    return podman(['exec', this.containerName(container), ...argv]);
  }

  /**
   * Polls the container's readinessProbe (or `probe`) until it succeeds; rejects with the container's output when
   * the container exits first or `timeoutMs` passes.
   */
  public async waitReady(container: string, o: { probe?: Obj; timeoutMs?: number } = {}): Promise<void> {
    const c = this.container(container);
    const probe = o.probe ?? c.readinessProbe ?? c.startupProbe ?? c.livenessProbe;
    if (!probe) throw new Error(`pod ${this.name}: container ${container} has no probe`);
    const deadline = Date.now() + (o.timeoutMs ?? 30_000);
    let last = '';
    while (Date.now() < deadline) {
      const r = this.running.get(container);
      if (!r || r.exited) {
        const exit = r ? await r.done : undefined;
        throw new Error(`pod ${this.name}: container ${container} exited before it was ready: ${exit ? describeExit(exit) : 'not started'}`);
      }
      const res = this.probeOnce(c, probe);
      if (res.ok) return;
      last = res.detail;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const r = this.running.get(container)!;
    throw new Error(`pod ${this.name}: container ${container} not ready within ${o.timeoutMs ?? 30_000} ms (last probe: ${last})\n${r.stdout}\n${r.stderr}`);
  }

  private probeOnce(c: Obj, probe: Obj): { ok: boolean; detail: string } {
    const port = (p: number | string) => (typeof p === 'number' ? p : (c.ports ?? []).find((x: Obj) => x.name === p)?.containerPort);
    if (probe.httpGet) {
      const url = `${probe.httpGet.scheme === 'HTTPS' ? 'https' : 'http'}://127.0.0.1:${port(probe.httpGet.port)}${probe.httpGet.path ?? '/'}`;
      const headers = (probe.httpGet.httpHeaders ?? []).flatMap((h: Obj) => ['-H', `${h.name}: ${h.value}`]);
      const r = spawnSync('ip', ['netns', 'exec', this.node.netns, 'curl', '-sk', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '1', ...headers, url], { encoding: 'utf8' });
      const code = Number(r.stdout);
      return { ok: code >= 200 && code < 400, detail: `GET ${url}: ${r.stdout || r.stderr}` };
    }
    if (probe.tcpSocket) {
      const p = port(probe.tcpSocket.port);
      const r = spawnSync('ip', ['netns', 'exec', this.node.netns, 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${p}`], { encoding: 'utf8', timeout: 2000 });
      return { ok: r.status === 0, detail: `tcp 127.0.0.1:${p}: ${r.stderr.trim()}` };
    }
    if (probe.exec) {
      const r = this.exec(c.name, probe.exec.command);
      return { ok: r.code === 0, detail: `exec ${probe.exec.command.join(' ')}: exit ${r.code} ${r.stderr.trim()}` };
    }
    throw new Error(`pod ${this.name}: container ${c.name}: probe kind not modelled: ${JSON.stringify(probe)}`);
  }

  public async stop(): Promise<void> {
    const names = [...this.running.keys()].filter((n) => !this.running.get(n)!.exited).map(this.containerName);
    if (names.length) podman(['rm', '-f', '-t', String(Math.min(this.spec.terminationGracePeriodSeconds ?? 2, 2)), ...names]);
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  public container(name: string): Obj {
    const c = [...(this.spec.initContainers ?? []), ...this.spec.containers].find((x: Obj) => x.name === name);
    if (!c) throw new Error(`pod ${this.name}: no container ${name}`);
    return c;
  }

  /** Host directory of a volume. */
  public volumeDir(name: string): string {
    const d = this.volumeDirs.get(name);
    if (!d) throw new Error(`pod ${this.name}: no volume ${name}`);
    return d;
  }

  // --- volumes -------------------------------------------------------------------------------------------------

  /** The kubelet's `kube-api-access-*` volume and env, when the pod gets a service-account token. */
  private get automount(): ServiceAccountEmulation | undefined {
    return this.spec.automountServiceAccountToken === false ? undefined : this.input.serviceAccount;
  }

  private materializeVolumes(): void {
    const fsGroup: number | undefined = this.spec.securityContext?.fsGroup;
    const sa = this.automount;
    if (sa) {
      const dir = path.join(this.dir, 'volumes', '.kube-api-access');
      fs.mkdirSync(dir, { recursive: true });
      this.writeFiles(dir, { 'token': sa.token ?? 'node-harness-token', 'ca.crt': sa.caCert, 'namespace': this.namespace }, 0o644);
      if (fsGroup !== undefined) applyFsGroup(dir, fsGroup, true);
      this.volumeDirs.set('.kube-api-access', dir);
    }
    for (const v of this.spec.volumes ?? []) {
      let dir: string;
      let readOnlyVolume = false;
      if (v.persistentVolumeClaim) {
        dir = this.node.pvcDir(v.persistentVolumeClaim.claimName);
      } else {
        dir = path.join(this.dir, 'volumes', v.name);
        fs.mkdirSync(dir, { recursive: true });
        if (v.emptyDir) fs.chmodSync(dir, 0o777);
        else if (v.configMap || v.secret) {
          readOnlyVolume = true;
          const isCm = !!v.configMap;
          this.writeAtomic(dir, v.name, [{ [isCm ? 'configMap' : 'secret']: isCm ? v.configMap : { ...v.secret, name: v.secret.secretName } }], (isCm ? v.configMap : v.secret).defaultMode);
        } else if (v.projected) {
          readOnlyVolume = true;
          this.writeAtomic(dir, v.name, v.projected.sources ?? [], v.projected.defaultMode);
        } else {
          throw new Error(`pod ${this.name}: volume ${v.name}: only emptyDir, persistentVolumeClaim, configMap, secret and projected volumes are modelled`);
        }
      }
      if (fsGroup !== undefined) applyFsGroup(dir, fsGroup, readOnlyVolume);
      this.volumeDirs.set(v.name, dir);
    }
  }

  /** Files by relative path, in the atomic writer's layout. */
  private writeFiles(dir: string, files: Record<string, string>, mode: number): void {
    const stamp = `..${new Date().toISOString().replace(/[-:]/g, '_').replace(/\..*/, '')}.${crypto.randomBytes(4).readUInt32BE()}`;
    const data = path.join(dir, stamp);
    fs.mkdirSync(data, { recursive: true });
    for (const [p, content] of Object.entries(files)) writeFileMode(path.join(data, p), content, mode);
    fs.chmodSync(data, 0o755);
    fs.symlinkSync(stamp, path.join(dir, '..data'));
    for (const e of fs.readdirSync(data)) fs.symlinkSync(path.join('..data', e), path.join(dir, e));
  }

  /** The kubelet's atomic writer: files in `..<stamp>/`, `..data` → it, each top-level entry → `..data/<entry>`. */
  private writeAtomic(dir: string, volume: string, sources: Obj[], defaultMode: number | undefined): void {
    const stamp = `..${new Date().toISOString().replace(/[-:]/g, '_').replace(/\..*/, '')}.${crypto.randomBytes(4).readUInt32BE()}`;
    const data = path.join(dir, stamp);
    fs.mkdirSync(data, { recursive: true });
    for (const s of sources) {
      const src = s.configMap ?? s.secret;
      if (src) {
        const isCm = !!s.configMap;
        const content = (isCm ? this.input.configMaps : this.input.secrets)?.[src.name];
        if (!content) {
          if (src.optional) continue;
          throw new PodFailure(`pod ${this.name}: volume ${volume}: ${isCm ? 'ConfigMap' : 'Secret'} "${src.name}" not found (MountVolume.SetUp failed; the pod stays ContainerCreating)`, '', 'CreateContainerConfigError');
        }
        const items: Obj[] = src.items ?? Object.keys(content).map((k) => ({ key: k, path: k }));
        for (const it of items) {
          if (!(it.key in content)) {
            if (src.optional) continue;
            throw new PodFailure(`pod ${this.name}: volume ${volume}: key ${it.key} is not in ${isCm ? 'ConfigMap' : 'Secret'} ${src.name}`, '', 'CreateContainerConfigError');
          }
          writeFileMode(path.join(data, it.path), content[it.key], it.mode ?? defaultMode ?? 0o644);
        }
      } else if (s.serviceAccountToken) {
        writeFileMode(path.join(data, s.serviceAccountToken.path), 'node-harness-token', defaultMode ?? 0o644);
      } else if (s.downwardAPI) {
        const fields = this.fields();
        for (const it of s.downwardAPI.items ?? []) {
          const v = it.fieldRef ? fields[it.fieldRef.fieldPath] : undefined;
          if (v === undefined) throw new Error(`pod ${this.name}: volume ${volume}: downwardAPI item ${it.path} not modelled`);
          writeFileMode(path.join(data, it.path), v, it.mode ?? defaultMode ?? 0o644);
        }
      } else {
        throw new Error(`pod ${this.name}: volume ${volume}: projected source ${Object.keys(s).join(',')} not modelled`);
      }
    }
    fs.chmodSync(data, 0o755);
    fs.symlinkSync(stamp, path.join(dir, '..data'));
    for (const e of fs.readdirSync(data)) fs.symlinkSync(path.join('..data', e), path.join(dir, e));
  }

  private fields(): Record<string, string> {
    const f: Record<string, string> = {
      'metadata.name': this.name,
      'metadata.namespace': this.namespace,
      'metadata.uid': this.uid,
      'spec.nodeName': this.node.id,
      'spec.serviceAccountName': this.spec.serviceAccountName ?? 'default',
      'status.podIP': '127.0.0.1',
      'status.podIPs': '127.0.0.1',
      'status.hostIP': '127.0.0.1',
    };
    for (const [k, v] of Object.entries(this.input.labels ?? {})) f[`metadata.labels['${k}']`] = v;
    for (const [k, v] of Object.entries(this.input.annotations ?? {})) f[`metadata.annotations['${k}']`] = v;
    return f;
  }

  // --- containers ----------------------------------------------------------------------------------------------

  /** The `podman run` argv of a container, or a PodFailure when the kubelet would not create it. */
  public podmanArgs(c: Obj): string[] {
    const image = imageConfig(c.image);
    const sa = this.automount;
    // the kubelet puts the service env first: the container's own env can override it
    const serviceEnv: Record<string, string> = sa ? { KUBERNETES_SERVICE_HOST: sa.host, KUBERNETES_SERVICE_PORT: String(sa.port), KUBERNETES_SERVICE_PORT_HTTPS: String(sa.port) } : {};
    const env = { ...serviceEnv, ...resolveEnv(c, { configMaps: this.input.configMaps, secrets: this.input.secrets, fields: this.fields(), what: `pod ${this.name}: container` }), ...this.input.extraEnv?.[c.name] };
    const psc: Obj = this.spec.securityContext ?? {};
    const sc: Obj = c.securityContext ?? {};
    const runAsUser: number | undefined = sc.runAsUser ?? psc.runAsUser;
    const runAsGroup: number | undefined = sc.runAsGroup ?? psc.runAsGroup;
    if (sc.runAsNonRoot ?? psc.runAsNonRoot) {
      const err = runAsNonRootError(this, c.name, runAsUser, image.user);
      if (err) throw new PodFailure(`pod ${this.name}: container ${c.name}: CreateContainerConfigError: ${err}`, c.name, 'CreateContainerConfigError');
    }
    const args = [
      'run', '--name', this.containerName(c.name), '--pull', 'never', '--log-driver', 'k8s-file',
      '--label', `${LABEL_NODE}=${this.node.id}`, '--label', `${LABEL_OWNER}=${process.pid}`,
      '--network', `ns:${this.node.netnsPath}`, '--hostname', this.name.slice(0, 63),
      '--cgroups', 'enabled',
    ];
    for (const h of [...this.hosts, ...(this.spec.hostAliases ?? []).flatMap((a: Obj) => a.hostnames.map((n: string) => `${n}`))]) args.push('--add-host', `${h}:127.0.0.1`);
    for (const [k, v] of Object.entries(env)) args.push('--env', `${k}=${v}`);
    if (runAsUser !== undefined || runAsGroup !== undefined) {
      const uid = runAsUser ?? image.user.split(':')[0] ?? '0';
      args.push('--user', runAsGroup !== undefined ? `${uid || 0}:${runAsGroup}` : `${uid}`);
    }
    for (const g of [...(psc.supplementalGroups ?? []), ...(psc.fsGroup !== undefined ? [psc.fsGroup] : [])]) args.push('--group-add', String(g));
    if (c.workingDir) args.push('--workdir', c.workingDir);
    if (sc.readOnlyRootFilesystem) args.push('--read-only', '--read-only-tmpfs=false');
    if (sc.allowPrivilegeEscalation === false) args.push('--security-opt', 'no-new-privileges');
    if (sc.privileged) args.push('--privileged');
    args.push('--cap-drop', 'all', ...effectiveCapabilities(sc.capabilities).flatMap((cap) => ['--cap-add', cap]));
    const seccomp = (sc.seccompProfile ?? psc.seccompProfile)?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') args.push('--security-opt', 'seccomp=unconfined');
    for (const m of this.mounts(c, env)) args.push('--mount', `type=bind,source=${m.source},destination=${m.destination}${m.readOnly ? ',ro=true' : ''}`);
    const { entrypoint, args: cmdArgs } = entrypointAndArgs(c, env, image);
    if (entrypoint) args.push('--entrypoint', JSON.stringify(entrypoint));
    else if (c.command === undefined && c.args !== undefined) args.push('--entrypoint', '[]');
    args.push(c.image, ...cmdArgs);
    return args;
  }

  private mounts(c: Obj, env: Record<string, string>): Array<{ source: string; destination: string; readOnly: boolean }> {
    const out = (c.volumeMounts ?? []).map((m: Obj) => {
      const root = this.volumeDir(m.name);
      const sub = m.subPath ?? (m.subPathExpr ? expandK8s(m.subPathExpr, env) : '');
      let source = root;
      if (sub) {
        if (sub.startsWith('/') || sub.split('/').includes('..')) throw new PodFailure(`pod ${this.name}: container ${c.name}: subPath ${sub} must be a relative path without '..'`, c.name, 'CreateContainerConfigError');
        source = path.join(root, sub);
        if (!fs.existsSync(source)) {
          fs.mkdirSync(source, { recursive: true }); // the kubelet creates a missing subPath as a directory
          fs.chmodSync(source, 0o777);
        }
        source = fs.realpathSync(source);
        if (!source.startsWith(fs.realpathSync(root))) throw new PodFailure(`pod ${this.name}: container ${c.name}: subPath ${sub} leaves volume ${m.name}`, c.name, 'CreateContainerConfigError');
      }
      return { source, destination: m.mountPath, readOnly: !!m.readOnly };
    });
    if (this.automount && !out.some((m: { destination: string }) => m.destination === SERVICE_ACCOUNT_DIR)) {
      out.push({ source: this.volumeDir('.kube-api-access'), destination: SERVICE_ACCOUNT_DIR, readOnly: true });
    }
    return containerdMountOrder(out);
  }

  private launch(c: Obj): Running {
    let args: string[];
    try {
      args = this.podmanArgs(c);
    } catch (e) {
      if (e instanceof PodFailure) throw e;
      throw new PodFailure((e as Error).message, c.name, 'CreateContainerConfigError');
    }
    const started = Date.now();
    const child = spawn('podman', args, { env: podmanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const r: Running = {
      child,
      stdout: '',
      stderr: '',
      exited: false,
      done: undefined as unknown as Promise<ContainerExit>,
    };
    child.stdout!.on('data', (d: Buffer) => (r.stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (r.stderr += d.toString()));
    (r as { done: Promise<ContainerExit> }).done = new Promise((resolve) => {
      child.on('close', (code) => {
        r.exited = true;
        const exitCode = code ?? -1;
        // podman's own failures (125: podman, 126/127: the OCI runtime could not create or exec) print "Error: …"
        const m = exitCode >= 125 ? /^Error: (.*)$/m.exec(r.stderr) : null;
        resolve({ name: c.name, exitCode, stdout: r.stdout, stderr: r.stderr, startError: m ? m[1] : undefined, ms: Date.now() - started });
      });
    });
    this.running.set(c.name, r);
    return r;
  }
}

function describeExit(e: ContainerExit): string {
  return `${e.startError ? `StartError: ${e.startError}` : `exit code ${e.exitCode}`}\n--- stdout ---\n${e.stdout}\n--- stderr ---\n${e.stderr}`;
}

function writeFileMode(file: string, content: string, mode: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  fs.writeFileSync(file, content);
  fs.chmodSync(file, mode);
}

/** The kubelet's SetVolumeOwnership: group fsGroup, group-readable (and -writable unless read-only), setgid dirs. */
function applyFsGroup(p: string, gid: number, readOnly: boolean): void {
  const st = fs.lstatSync(p);
  if (st.isSymbolicLink()) return;
  fs.chownSync(p, st.uid, gid);
  if (st.isDirectory()) {
    fs.chmodSync(p, (st.mode & 0o7777) | 0o2000 | (readOnly ? 0o550 : 0o770) & 0o770 | 0o010);
    for (const e of fs.readdirSync(p)) applyFsGroup(path.join(p, e), gid, readOnly);
  } else {
    fs.chmodSync(p, (st.mode & 0o7777) | (readOnly ? 0o440 : 0o660) & 0o070);
  }
}
