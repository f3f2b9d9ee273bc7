/**
 * Issue 14 §4: Agents with a Git context on the real node, against the HTTPS git fixture with its private CA (exposed
 * into the node's loopback-only network, trusted through the Agent's caBundle ConfigMap): the HotReload sidecar, and
 * the guide's hardened agent (runAsNonRoot, readOnlyRootFilesystem, drop ALL, seccomp RuntimeDefault).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Agent, AgentProps } from '../../src';
import { NAMES } from '../../src/api';
import { GitServer, createPki, startGitServer } from '../fixtures';
import { LlmStub, startLlmStub } from '../fixtures/llm-stub';
import { OFFLINE_ENV } from '../fixtures/opencode';
import { waitFor } from '../harness/apiserver';
import { Obj, chart, synth } from '../util/synth';
import { manifestSources, podSpecOf } from './manifest';
import { Node, Pod, PodFailure, SKIP_VAR, nodeTierSkipped } from './node';

jest.setTimeout(120_000);

const NS = 'agents';
const AGENT_IMAGE = 'quay.io/kubeopencode/kubeopencode-agent-opencode:latest';
const DEVBOX = 'quay.io/kubeopencode/kubeopencode-agent-devbox:latest';
const CA_CONFIGMAP = 'custom-ca-bundle';

if (nodeTierSkipped()) {
  test(`node tier skipped: ${SKIP_VAR}=1`, () => undefined);
}

(nodeTierSkipped() ? describe.skip : describe)('Git contexts on a real node (podman + runc)', () => {
  let dir: string;
  let git: GitServer;
  let stub: LlmStub;
  let node: Node;
  let caPem: string;
  const pods: Pod[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'koc-node-git-'));
    const pki = createPki(path.join(dir, 'pki'));
    caPem = fs.readFileSync(pki.caCert, 'utf8');
    [git, stub] = await Promise.all([startGitServer({ pki, dir }), startLlmStub()]);
    node = await Node.start();
    await node.expose(git.port); // https://127.0.0.1:<port>/… (the certificate's SAN) works inside the node too
    await node.expose(stub.port);
  });

  // the pods of a Node share one network namespace: each test's server (port 4096) goes before the next starts
  afterEach(async () => {
    for (const p of pods.splice(0)) await p.stop();
  });

  afterAll(async () => {
    await node?.stop();
    await Promise.all([git?.stop(), stub?.stop()]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Synthesizes the Agent and starts its server pod (the Deployment's template) on the node. */
  async function startServer(name: string, props: Partial<AgentProps>): Promise<Pod> {
    const c = chart(NS);
    new Agent(c, name, {
      agentImage: AGENT_IMAGE,
      executorImage: DEVBOX,
      workspaceDir: '/workspace',
      serviceAccountName: 'kubeopencode-agent',
      config: JSON.stringify(stub.opencodeConfig()),
      caBundle: { configMapRef: { name: CA_CONFIGMAP } },
      ...props,
    });
    const objects: Obj[] = synth(c).objects;
    const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === NAMES.serverDeployment(name))!;
    const spec = podSpecOf(deployment);
    const sources = manifestSources(objects, { [NAMES.serverAuthSecret(name)]: { password: 'node-tier' } });
    const containers = [...(spec.initContainers ?? []), ...spec.containers].map((x: Obj) => x.name as string);
    const pod = await node.startPod({
      name: `${name}-server-0`,
      namespace: NS,
      spec,
      configMaps: { ...sources.configMaps, [CA_CONFIGMAP]: { 'ca-bundle.crt': caPem } },
      secrets: sources.secrets,
      extraEnv: Object.fromEntries(containers.map((n) => [n, { ...OFFLINE_ENV }])),
    });
    pods.push(pod);
    return pod;
  }

  test('HotReload: the git-sync sidecar brings a pushed commit into the running server container', async () => {
    const repo = git.repos.sync;
    const pod = await startServer('sync-agent', {
      contexts: [{
        name: 'team-prompts',
        type: 'Git',
        // the smallest interval the constructs allow (whole seconds, at least 1)
        git: { repository: repo.url, ref: 'main', sync: { enabled: true, interval: '1s', policy: 'HotReload' } },
        mountPath: 'prompts/',
      }],
    });
    await pod.waitReady('server', { timeoutMs: 60_000 });
    const read = () => pod.exec('server', ['cat', '/workspace/prompts/version.txt']);
    expect(read()).toMatchObject({ code: 0, stdout: 's1\n' });
    const sidecar = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c: Obj) => /sync/.test(c.name));
    expect(sidecar && pod.isRunning(sidecar.name)).toBe(true);

    git.pushCommit(repo, { 'version.txt': 's2 hot\n' });
    await waitFor(() => read().stdout === 's2 hot\n', 60_000, { what: `the pushed commit in the server container (sidecar: ${pod.logs(sidecar!.name).stderr.slice(-1500)})` });
    // in place: the server kept running (HotReload never restarts it)
    expect(pod.isRunning('server')).toBe(true);
  });

  // Failed before issue 15: the user's securityContext replaced the defaults and applied to every container, so git-init
  // in alpine/git (no USER: root) met runAsNonRoot and the kubelet refused it (CreateContainerConfigError: container
  // has runAsNonRoot and image will run as root). Now the user's settings merge over the defaults and the script
  // containers get a non-root uid.
  test("the guide's hardened agent (runAsNonRoot, readOnlyRootFilesystem, drop ALL, RuntimeDefault) with a Git context: every container starts", async () => {
    const pod = await startServer('hardened-agent', {
      profile: 'Security-hardened agent with strict container settings',
      podSpec: {
        securityContext: {
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        },
      },
      contexts: [{ name: 'docs', type: 'Git', git: { repository: git.repos.hello.url, ref: 'main' }, mountPath: 'docs/' }],
    }).catch((e: Error) => {
      throw e instanceof PodFailure ? new Error(`${e.message} [${e.reason}]`) : e;
    });
    for (const [name, exit] of Object.entries(pod.initResults)) expect([name, exit.exitCode]).toEqual([name, 0]);
    await pod.waitReady('server', { timeoutMs: 60_000 });
    expect(pod.exec('server', ['cat', '/workspace/docs/README.md'])).toMatchObject({ code: 0 }); // on failure: podman's stderr
    // the agent (the executor image's uid, not git-init's) edits and commits in the checkout it was given
    const edit = pod.exec('server', ['sh', '-c', 'echo edited >> /workspace/docs/README.md && git -C /workspace/docs -c user.name=a -c user.email=a@x commit -qam edit && git -C /workspace/docs log --oneline | wc -l']);
    expect(edit).toMatchObject({ code: 0, stdout: '2\n' });
    for (const c of pod.spec.containers) expect([c.name, pod.isRunning(c.name)]).toEqual([c.name, true]);
  });
});
