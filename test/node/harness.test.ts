import * as http from 'http';
import * as net from 'net';
import { IMAGES } from '../../src/api';
import { Obj } from '../fixtures/kubelet';
import { Node, PodFailure, SKIP_VAR, containerdMountOrder, effectiveCapabilities, imageConfig, nodeTierSkipped, podman } from './node';

/**
 * Self-tests of the node harness (test/node/node.ts): each kubelet rule it models, on the real runtime, with the
 * stand-in images of test/node/images. The tier's reproductions of the guide's pods are in the other files.
 */

const BASE = 'localhost/kubeopencode-node/debian:bookworm';
const NODE_IMAGE = 'localhost/kubeopencode-node/node:20-bookworm';
const GIT = IMAGES.git; // stand-in: root, ENTRYPOINT ["git"], CMD ["--help"]
const CURL = IMAGES.curl; // stand-in: curl_user (100:101), ENTRYPOINT ["/usr/bin/curl"]

if (nodeTierSkipped()) {
  test(`node tier skipped: ${SKIP_VAR}=1`, () => undefined);
}

(nodeTierSkipped() ? describe.skip : describe)('node harness (podman + runc)', () => {
  let node: Node;
  beforeAll(async () => {
    node = await Node.start({ hosts: ['web', 'web.default.svc.cluster.local'] });
  });
  afterAll(async () => node?.stop());

  const pod = (name: string, containers: Obj[], extra: Obj = {}) => ({ name, spec: { containers, ...extra } });

  test('the stand-in images carry the users and entrypoints of the images they replace', () => {
    expect(imageConfig(GIT)).toMatchObject({ user: '', entrypoint: ['git'] });
    expect(imageConfig(CURL)).toMatchObject({ user: 'curl_user', entrypoint: ['/usr/bin/curl'] });
    const agent = imageConfig('quay.io/kubeopencode/kubeopencode-agent-opencode:latest');
    expect(agent).toMatchObject({ user: '', entrypoint: ['/entrypoint.sh'] });
    expect(agent.env).toEqual(expect.arrayContaining(['TOOLS_DIR=/tools', 'OPENCODE_BIN=opencode']));
    expect(imageConfig('quay.io/kubeopencode/kubeopencode-agent-attach:latest')).toMatchObject({ user: '1000:0', entrypoint: ['/usr/local/bin/opencode'] });
    expect(imageConfig('quay.io/kubeopencode/kubeopencode-agent-devbox:latest')).toMatchObject({ user: '1000:0' });
    const id = (i: string) => podman(['image', 'inspect', '--format', '{{.Id}}', i]).stdout.trim();
    for (const repo of ['kubeopencode-agent-opencode', 'kubeopencode-agent-devbox', 'kubeopencode-agent-attach']) {
      expect(new Set([`quay.io/kubeopencode/${repo}:latest`, `quay.io/kubeopencode/${repo}:v0.1.7`, `ghcr.io/kubeopencode/${repo}:latest`, `ghcr.io/kubeopencode/${repo}:v0.1.7`].map(id)).size).toBe(1);
    }
  });

  test('every default image of the constructs (src/api IMAGES) is on the node', () => {
    const missing = Object.values(IMAGES).filter((i) => podman(['image', 'exists', i]).code !== 0);
    expect(missing).toEqual([]);
  });

  test('$(VAR) and $$ in env, command and args are resolved as the kubelet does; valueFrom and fieldRef too', async () => {
    const p = await node.startPod({
      name: 'expand',
      configMaps: { cm: { greeting: 'hello $(A)' } },
      secrets: { s: { token: 's3cret' } },
      spec: {
        containers: [{
          name: 'c', image: BASE,
          command: ['printf', '%s|%s|%s|%s|%s|%s|%s\n'],
          args: ['$(A)', '$$(A)', '$(MISSING)', '$(B)', '$(G)', '$(T)', '$(POD)'],
          env: [
            { name: 'A', value: 'x' },
            { name: 'B', value: '$(A)-y-$$(A)' },
            { name: 'G', valueFrom: { configMapKeyRef: { name: 'cm', key: 'greeting' } } },
            { name: 'T', valueFrom: { secretKeyRef: { name: 's', key: 'token' } } },
            { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          ],
        }],
      },
    });
    const r = await p.exited('c');
    expect([r.exitCode, r.stdout]).toEqual([0, 'x|$(A)|$(MISSING)|x-y-$(A)|hello $(A)|s3cret|expand\n']);
  });

  test('command replaces the ENTRYPOINT (and drops CMD), args replace CMD, neither runs both', async () => {
    const p = await node.startPod(pod('entry', [
      { name: 'neither', image: GIT },
      { name: 'args', image: CURL, args: ['--version'] },
      { name: 'command', image: CURL, command: ['sh', '-c', 'id -u; id -g'] },
    ]));
    const [neither, args, command] = await Promise.all(['neither', 'args', 'command'].map((c) => p.exited(c)));
    expect(neither.stdout).toMatch(/^usage: git /m); // git --help
    expect(args.stdout).toMatch(/^curl \d/);
    expect(command.stdout).toBe('100\n101\n');
  });

  test('runAsNonRoot: the kubelet refuses an image that runs as root, a non-numeric image user and runAsUser 0', async () => {
    const refuse = async (name: string, c: Obj) => {
      const e = await node.startPod(pod(name, [{ name: 'c', ...c }], { securityContext: { runAsNonRoot: true } })).catch((x) => x);
      expect(e).toBeInstanceOf(PodFailure);
      expect((e as PodFailure).reason).toBe('CreateContainerConfigError');
      return (e as Error).message;
    };
    expect(await refuse('root', { image: GIT })).toMatch(/container has runAsNonRoot and image will run as root \(pod: "root_default\([0-9a-f-]+\)", container: c\)$/);
    expect(await refuse('named', { image: CURL })).toMatch(/container has runAsNonRoot and image has non-numeric user \(curl_user\), cannot verify user is non-root/);
    expect(await refuse('zero', { image: CURL, securityContext: { runAsUser: 0 } })).toMatch(/container's runAsUser breaks non-root policy/);
    // a numeric non-root uid (the image's or runAsUser) starts
    const ok = await node.startPod(pod('nonroot', [
      { name: 'image-user', image: 'quay.io/kubeopencode/kubeopencode-agent-devbox:latest', command: ['id', '-u'] },
      { name: 'run-as', image: CURL, command: ['id', '-u'], securityContext: { runAsUser: 4242 } },
    ], { securityContext: { runAsNonRoot: true } }));
    expect((await ok.exited('image-user')).stdout).toBe('1000\n');
    expect((await ok.exited('run-as')).stdout).toBe('4242\n');
  });

  test('readOnlyRootFilesystem: / and /tmp are not writable, a mounted emptyDir is', async () => {
    const p = await node.startPod(pod('rofs', [{
      name: 'c', image: BASE,
      command: ['sh', '-c', 'touch /x 2>&1; touch /tmp/x 2>&1; touch /scratch/x && echo scratch-ok'],
      securityContext: { readOnlyRootFilesystem: true },
      volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
    }], { volumes: [{ name: 'scratch', emptyDir: {} }] }));
    const r = await p.exited('c');
    expect(r.stdout).toMatch(/touch: cannot touch '\/x': Read-only file system/);
    expect(r.stdout).toMatch(/touch: cannot touch '\/tmp\/x': Read-only file system/);
    expect(r.stdout).toMatch(/scratch-ok$/m);
  });

  test('configMap volumes: subPath file content, items with mode, defaultMode, the kubelet\'s ..data layout, read-only', async () => {
    const p = await node.startPod({
      name: 'cm',
      configMaps: { conf: { 'a.json': '{"a":1}', 'b.md': '# b', run: 'echo hi' } },
      spec: {
        volumes: [
          { name: 'whole', configMap: { name: 'conf', defaultMode: 0o440 } },
          { name: 'some', configMap: { name: 'conf', items: [{ key: 'run', path: 'bin/run.sh', mode: 0o555 }] } },
        ],
        containers: [{
          name: 'c', image: BASE,
          command: ['sh', '-c', 'cat /etc/app/a.json; echo; stat -L -c %a /whole/b.md; readlink /whole/b.md; /some/bin/run.sh; touch /whole/new 2>&1 || true'],
          volumeMounts: [
            { name: 'whole', mountPath: '/etc/app/a.json', subPath: 'a.json' },
            { name: 'whole', mountPath: '/whole', readOnly: true },
            { name: 'some', mountPath: '/some' },
          ],
        }],
      },
    });
    const r = await p.exited('c');
    expect(r.stdout.split('\n').slice(0, 5)).toEqual(['{"a":1}', '440', '..data/b.md', 'hi', "touch: cannot touch '/whole/new': Read-only file system"]);
  });

  test('runc refuses a mount point below a read-only mount of another volume (kubernetes#121294)', async () => {
    const p = await node.startPod({
      name: 'nested',
      configMaps: { conf: { 'opencode.json': '{}' } },
      spec: {
        volumes: [{ name: 'tools', emptyDir: {} }, { name: 'conf', configMap: { name: 'conf' } }],
        containers: [{
          name: 'c', image: BASE, command: ['true'],
          volumeMounts: [
            { name: 'conf', mountPath: '/tools/opencode.json', subPath: 'opencode.json' }, // listed first: containerd still mounts /tools first
            { name: 'tools', mountPath: '/tools', readOnly: true },
          ],
        }],
      },
    });
    const r = await p.exited('c');
    expect(r.startError).toMatch(/opencode\.json.*read-only file system/);
  });

  test('containerd\'s mount order: parents first, the spec\'s order among equals', () => {
    const order = containerdMountOrder([{ destination: '/a/b/c' }, { destination: '/x' }, { destination: '/a/b' }, { destination: '/a' }, { destination: '/y/' }]);
    expect(order.map((m) => m.destination)).toEqual(['/x', '/a', '/y/', '/a/b', '/a/b/c']);
    expect(effectiveCapabilities({ drop: ['ALL'], add: ['NET_BIND_SERVICE'] })).toEqual(['NET_BIND_SERVICE']);
    expect(effectiveCapabilities(undefined)).toContain('NET_RAW');
  });

  test('securityContext: capabilities dropped, no_new_privs, fsGroup owns the volumes', async () => {
    const p = await node.startPod(pod('sec', [{
      name: 'c', image: BASE,
      command: ['sh', '-c', 'grep -E "^(CapEff|NoNewPrivs)" /proc/self/status; id -G; stat -c %g /data; touch /data/f && stat -c %g /data/f'],
      securityContext: { runAsUser: 1234, runAsGroup: 5678, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      volumeMounts: [{ name: 'data', mountPath: '/data' }],
    }], { securityContext: { fsGroup: 2000 }, volumes: [{ name: 'data', emptyDir: {} }] }));
    const r = await p.exited('c');
    expect(r.stdout).toMatch(/^CapEff:\s+0+$/m);
    expect(r.stdout).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(r.stdout).toMatch(/^5678 2000$/m);
    expect(r.stdout.trim().split('\n').slice(-2)).toEqual(['2000', '2000']); // setgid dir: new files get the fsGroup
  });

  test('service account: the kubelet\'s token, CA and namespace files and KUBERNETES_SERVICE_* env, unless automount is off', async () => {
    const sa = { host: '127.0.0.1', port: 6443, caCert: '-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n', token: 'tok' };
    const show = 'echo "$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT"; cd /var/run/secrets/kubernetes.io/serviceaccount && cat token && echo && cat namespace && echo && head -n1 ca.crt && touch x 2>&1';
    const on = await node.startPod({ name: 'sa-on', namespace: 'team', serviceAccount: sa, spec: { containers: [{ name: 'c', image: CURL, command: ['sh', '-c', show] }] } });
    expect((await on.exited('c')).stdout.split('\n').slice(0, 5)).toEqual(['127.0.0.1:6443', 'tok', 'team', '-----BEGIN CERTIFICATE-----', "touch: cannot touch 'x': Read-only file system"]);
    const off = await node.startPod({ name: 'sa-off', serviceAccount: sa, spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: CURL, command: ['sh', '-c', show] }] } });
    const r = await off.exited('c');
    expect(r.stdout.split('\n')[0]).toBe(':');
    expect(r.stderr).toMatch(/can't cd|No such file/);
  });

  test('init containers run in order before the containers; a failing one fails the pod with its exit code and stderr', async () => {
    const p = await node.startPod({
      name: 'init',
      spec: {
        volumes: [{ name: 'w', emptyDir: {} }],
        initContainers: [
          { name: 'one', image: BASE, command: ['sh', '-c', 'echo one >> /w/log'], volumeMounts: [{ name: 'w', mountPath: '/w' }] },
          { name: 'two', image: BASE, command: ['sh', '-c', 'echo two >> /w/log'], volumeMounts: [{ name: 'w', mountPath: '/w' }] },
        ],
        containers: [{ name: 'main', image: BASE, command: ['cat', '/w/log'], volumeMounts: [{ name: 'w', mountPath: '/w' }] }],
      },
    });
    expect((await p.exited('main')).stdout).toBe('one\ntwo\n');
    const e = await node.startPod({
      name: 'init-fails',
      spec: {
        initContainers: [{ name: 'bad', image: BASE, command: ['sh', '-c', 'echo broken >&2; exit 3'] }],
        containers: [{ name: 'main', image: BASE, command: ['true'] }],
      },
    }).catch((x) => x);
    expect(e).toBeInstanceOf(PodFailure);
    expect([(e as PodFailure).container, (e as PodFailure).exitCode, (e as Error).message]).toEqual(['bad', 3, 'init container bad failed with exit code 3 (Init:Error): broken']);
  });

  test('pods share one loopback-only network: a Service name reaches another pod, the host is not reachable, probes work', async () => {
    // a host server the pods must NOT reach without expose()
    const host = http.createServer((_q, s) => s.end('from-host')).listen(0, '127.0.0.1');
    await new Promise((r) => host.once('listening', r));
    const hostPort = (host.address() as net.AddressInfo).port;
    try {
      const web = await node.startPod(pod('web', [{
        name: 'web', image: NODE_IMAGE,
        command: ['node', '-e', "require('http').createServer((q, s) => s.end('hello from web')).listen(8080, '127.0.0.1')"],
        ports: [{ name: 'http', containerPort: 8080 }],
        readinessProbe: { httpGet: { path: '/', port: 'http' } },
      }]));
      await web.waitReady('web');
      const client = await node.startPod(pod('client', [{
        name: 'c', image: BASE,
        command: ['sh', '-c', `curl -s http://web.default.svc.cluster.local:8080/; echo; curl -s --max-time 2 http://127.0.0.1:${hostPort}/ || echo host-unreachable; ip -o link 2>/dev/null | wc -l; cat /sys/class/net/*/ifindex | wc -l`],
      }]));
      const r = await client.exited('c');
      expect(r.stdout.split('\n').slice(0, 2)).toEqual(['hello from web', 'host-unreachable']);
      expect(r.stdout.trim().split('\n').pop()).toBe('1'); // only lo
      // the test reaches the pod through forward(), a pod reaches a host fixture through expose()
      const fwd = await node.forward(8080);
      const body = await new Promise<string>((resolve, reject) => http.get(`http://127.0.0.1:${fwd}/`, (s) => { let b = ''; s.on('data', (d) => (b += d)); s.on('end', () => resolve(b)); }).on('error', reject));
      expect(body).toBe('hello from web');
      await node.expose(hostPort, 9999);
      const viaRelay = await node.startPod(pod('relay', [{ name: 'c', image: BASE, command: ['curl', '-s', 'http://127.0.0.1:9999/'] }]));
      expect((await viaRelay.exited('c')).stdout).toBe('from-host');
      // one network namespace for all pods: a second pod declaring the same port is refused while the first runs
      const twin = { ...pod('web-twin', web.spec.containers) };
      await expect(node.startPod(twin)).rejects.toThrow(/^pod web-twin: container web's port 8080 is in use by the running pod web \(container web\)/);
      await web.stop();
      const after = await node.startPod(twin);
      await after.waitReady('web');
      await after.stop();
    } finally {
      host.close();
    }
  });
});
