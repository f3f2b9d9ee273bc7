import { Testing } from 'cdk8s';
import { Agent, AgentProps, UPSTREAM_RELEASE, ValidationError } from '../../src';
import { restrictedViolations } from '../util/pss';
import { allContainers, chart, container, envOf, mountOf, podSpec, scriptOf, synth, volume } from '../util/synth';

const base: AgentProps = {
  workspaceDir: '/workspace',
  serviceAccountName: 'kubeopencode-agent',
};

function agent(props: Partial<AgentProps> = {}, id = 'a', namespace = 'kubeopencode-system') {
  const c = chart(namespace);
  new Agent(c, id, { ...base, ...props });
  return synth(c);
}

describe('Agent: Live Agents setup (the guide\'s team-agent)', () => {
  const m = agent(
    {
      profile: 'Team development agent',
      executorImage: 'quay.io/kubeopencode/kubeopencode-agent-devbox:latest',
      port: 4096,
      persistence: { sessions: { size: '2Gi' } },
      contexts: [
        { name: 'codebase', type: 'Git', git: { repository: 'https://github.com/your-org/your-repo.git', ref: 'main' }, mountPath: 'code' },
      ],
      credentials: [{ name: 'api-key', secretRef: { name: 'ai-credentials', key: 'api-key' }, env: 'OPENCODE_API_KEY' }],
    },
    'team-agent',
  );
  const deploy = m.find('Deployment', 'team-agent-server');
  const pod = podSpec(deploy);
  const server = container(pod, 'server');

  test('emits the Agent custom resource with the spec as written', () => {
    const cr = m.find('Agent', 'team-agent');
    expect(cr.apiVersion).toBe('kubeopencode.io/v1alpha1');
    expect(cr.metadata.namespace).toBe('kubeopencode-system');
    expect(cr.spec.profile).toBe('Team development agent');
    expect(cr.spec.persistence).toEqual({ sessions: { size: '2Gi' } });
    expect(cr.spec.contexts[0].git).toEqual({ repository: 'https://github.com/your-org/your-repo.git', ref: 'main' });
  });

  test('a Deployment {name}-server runs opencode serve on the port', () => {
    expect(server.image).toBe('quay.io/kubeopencode/kubeopencode-agent-devbox:latest');
    expect(server.command).toEqual(['/tools/opencode', 'serve', '--port', '4096', '--hostname', '0.0.0.0']);
    expect(server.ports).toEqual([{ name: 'http', containerPort: 4096, protocol: 'TCP' }]);
    expect(server.workingDir).toBe('/workspace');
    expect(pod.serviceAccountName).toBe('kubeopencode-agent');
  });

  test('replicas are left to the controller (suspend/standby)', () => {
    expect(deploy.spec.replicas).toBeUndefined();
  });

  test('a Service {name} in front of it, matching the server URL of the guide', () => {
    const svc = m.find('Service', 'team-agent');
    expect(svc.spec.ports).toEqual([{ name: 'http', port: 4096, targetPort: 'http', protocol: 'TCP' }]);
    expect(svc.spec.selector).toEqual(deploy.spec.selector.matchLabels);
    const task = m.find('PodTemplate', 'team-agent-task');
    expect(envOf(container(podSpec(task), 'task')).KUBEOPENCODE_SERVER_URL).toBe(
      'http://team-agent.kubeopencode-system.svc.cluster.local:4096',
    );
  });

  test('session persistence: PVC {name}-server-sessions (2Gi) at /data/sessions and OPENCODE_DB', () => {
    const pvc = m.find('PersistentVolumeClaim', 'team-agent-server-sessions');
    expect(pvc.spec.resources.requests.storage).toBe('2Gi');
    expect(pvc.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(mountOf(server, '/data/sessions')?.name).toBe('sessions');
    expect(volume(pod, 'sessions').persistentVolumeClaim.claimName).toBe('team-agent-server-sessions');
    expect(envOf(server).OPENCODE_DB).toBe('/data/sessions/opencode.db');
  });

  test('a ReadWriteOnce PVC means the Recreate strategy (no multi-attach deadlock)', () => {
    expect(deploy.spec.strategy).toEqual({ type: 'Recreate' });
  });

  test('credentials: secret key to env var', () => {
    expect(envOf(server).OPENCODE_API_KEY).toEqual({ secretKeyRef: { name: 'ai-credentials', key: 'api-key' } });
  });

  test('the Git context is cloned by git-init into the workspace before opencode starts', () => {
    const gitInit = container(pod, 'git-init-codebase');
    expect(envOf(gitInit)).toMatchObject({
      GIT_REPO: 'https://github.com/your-org/your-repo.git',
      GIT_REF: 'main',
      GIT_DEPTH: '1',
      GIT_DEST: '/workspace/code',
    });
    expect(mountOf(gitInit, '/workspace')?.name).toBe('workspace');
  });
});

describe('Agent: defaults', () => {
  const m = agent({}, 'plain', 'ns');
  const deploy = m.find('Deployment', 'plain-server');
  const pod = podSpec(deploy);
  const server = container(pod, 'server');

  test('port 4096, the upstream images pinned to a release tag, emptyDir workspace, no PVC, RollingUpdate', () => {
    expect(server.command).toContain('4096');
    expect(server.image).toBe(`ghcr.io/kubeopencode/kubeopencode-agent-devbox:${UPSTREAM_RELEASE}`);
    expect(container(pod, 'opencode-init').image).toBe(`ghcr.io/kubeopencode/kubeopencode-agent-opencode:${UPSTREAM_RELEASE}`);
    expect(container(podSpec(m.find('PodTemplate', 'plain-task')), 'task').image).toBe(`ghcr.io/kubeopencode/kubeopencode-agent-attach:${UPSTREAM_RELEASE}`);
    expect(UPSTREAM_RELEASE).toMatch(/^v\d+\.\d+\.\d+$/);
    expect(volume(pod, 'workspace')).toEqual({ name: 'workspace', emptyDir: {} });
    expect(m.all('PersistentVolumeClaim')).toHaveLength(0);
    expect(deploy.spec.strategy).toBeUndefined();
    expect(envOf(server).OPENCODE_DB).toBeUndefined();
  });

  test('no image the library emits by default is :latest or untagged', () => {
    for (const o of m.objects.filter((x) => x.kind === 'Deployment' || x.kind === 'PodTemplate')) {
      for (const c of allContainers(podSpec(o))) expect(c.image).toMatch(/:[\w][\w.-]*$/);
      for (const c of allContainers(podSpec(o))) expect(c.image).not.toMatch(/:latest$/);
    }
  });

  test('the restricted security context on every container', () => {
    for (const o of [deploy, m.find('PodTemplate', 'plain-task')]) {
      for (const c of allContainers(podSpec(o))) {
        expect(c.securityContext).toEqual({
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
          // the images of our system containers run as root (alpine/git, the agent image): they get a non-root uid
          ...(c.name === 'server' || c.name === 'task' ? {} : { runAsUser: 65532 }),
        });
      }
    }
  });

  test('the name is the construct id, with no hash', () => {
    expect(m.names()).toEqual(
      expect.arrayContaining(['Agent/plain', 'Deployment/plain-server', 'Service/plain', 'PodTemplate/plain-task']),
    );
  });

  test('the server password comes from a Secret, on the server and on task pods (secure by default)', () => {
    const ref = { secretKeyRef: { name: 'plain-server-auth', key: 'password' } };
    expect(envOf(server).OPENCODE_SERVER_PASSWORD).toEqual(ref);
    expect(envOf(container(podSpec(m.find('PodTemplate', 'plain-task')), 'task')).OPENCODE_SERVER_PASSWORD).toEqual(ref);
  });

  test('metadata.name overrides the id; without a namespace the URL is the short service name', () => {
    const c = chart();
    new Agent(c, 'id', { ...base, metadata: { name: 'renamed' }, port: 8080 });
    const mm = synth(c);
    expect(mm.find('Deployment', 'renamed-server')).toBeDefined();
    expect(envOf(container(podSpec(mm.find('PodTemplate', 'renamed-task')), 'task')).KUBEOPENCODE_SERVER_URL).toBe('http://renamed:8080');
  });
});

describe('Agent: guide sections on its static shape', () => {
  test('credentials: secret key to a file at mountPath with fileMode', () => {
    const m = agent({
      credentials: [
        { name: 'github-token', secretRef: { name: 'github-creds', key: 'token' }, env: 'GITHUB_TOKEN' },
        { name: 'ssh-key', secretRef: { name: 'ssh-keys', key: 'id_rsa' }, mountPath: '/home/agent/.ssh/id_rsa', fileMode: 0o400 },
      ],
    });
    const pod = podSpec(m.find('Deployment', 'a-server'));
    const mount = mountOf(container(pod, 'server'), '/home/agent/.ssh/id_rsa')!;
    expect(mount).toMatchObject({ subPath: 'id_rsa', readOnly: true });
    expect(volume(pod, mount.name).secret).toEqual({ secretName: 'ssh-keys', items: [{ key: 'id_rsa', path: 'id_rsa', mode: 256 }] });
    expect(envOf(container(pod, 'server')).GITHUB_TOKEN).toEqual({ secretKeyRef: { name: 'github-creds', key: 'token' } });
  });

  test('a credential file without key mounts every key of the Secret as a directory (default mode 0600)', () => {
    const m = agent({ credentials: [{ name: 'kube', secretRef: { name: 'kubeconfig' }, mountPath: '/home/agent/.kube' }] });
    const pod = podSpec(m.find('Deployment', 'a-server'));
    const mount = mountOf(container(pod, 'server'), '/home/agent/.kube')!;
    expect(volume(pod, mount.name).secret).toEqual({ secretName: 'kubeconfig', defaultMode: 0o600 });
  });

  test('imagePullSecrets on every generated pod', () => {
    const m = agent({ imagePullSecrets: [{ name: 'harbor-registry-secret' }, { name: 'gcr-secret' }] });
    for (const o of [m.find('Deployment', 'a-server'), m.find('PodTemplate', 'a-task')]) {
      expect(podSpec(o).imagePullSecrets).toEqual([{ name: 'harbor-registry-secret' }, { name: 'gcr-secret' }]);
    }
  });

  test('the guide\'s hardened-agent and uid-agent overrides produce exactly what they ask for', () => {
    const hardened = {
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    };
    const m = agent({
      contexts: [{ type: 'Text', text: 'x' }, { name: 'code', type: 'Git', git: { repository: 'https://github.com/org/repo.git' }, mountPath: 'code' }],
      podSpec: { securityContext: hardened, podSecurityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 } },
    });
    for (const o of [m.find('Deployment', 'a-server'), m.find('PodTemplate', 'a-task')]) {
      const pod = podSpec(o);
      // merged over the default (runAsNonRoot), which the example's own settings already imply
      expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 });
      // every container, the script containers included, runs as the uid the pod asks for
      for (const c of allContainers(pod)) expect(c.securityContext).toEqual(hardened);
    }
  });

  test('podSpec labels, runtimeClassName and scheduling reach every pod', () => {
    const m = agent({
      podSpec: {
        labels: { 'network-policy': 'agent-restricted' },
        runtimeClassName: 'gvisor',
        scheduling: {
          nodeSelector: { 'node-type': 'ai-workload' },
          tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ai-workload', effect: 'NoSchedule' }],
        },
      },
    });
    for (const o of [m.find('Deployment', 'a-server'), m.find('PodTemplate', 'a-task')]) {
      const tpl = o.kind === 'PodTemplate' ? o.template : o.spec.template;
      expect(tpl.metadata.labels['network-policy']).toBe('agent-restricted');
      expect(tpl.spec.runtimeClassName).toBe('gvisor');
      expect(tpl.spec.nodeSelector).toEqual({ 'node-type': 'ai-workload' });
      expect(tpl.spec.tolerations).toEqual([{ key: 'dedicated', operator: 'Equal', value: 'ai-workload', effect: 'NoSchedule' }]);
    }
  });

  test('config is written to /tools/opencode.json and OPENCODE_CONFIG points at it', () => {
    const config = '{\n  "$schema": "https://opencode.ai/config.json",\n  "model": "google/gemini-2.5-pro",\n  "small_model": "google/gemini-2.5-flash"\n}';
    const m = agent({ config });
    const cm = m.find('ConfigMap', 'a-server-context');
    expect(JSON.parse(cm.data['opencode.json'])).toEqual(JSON.parse(config));
    const server = container(podSpec(m.find('Deployment', 'a-server')), 'server');
    expect(envOf(server).OPENCODE_CONFIG).toBe('/tools/opencode.json');
    expect(mountOf(server, '/tools/opencode.json')).toMatchObject({ name: 'generated', subPath: 'opencode.json' });
  });

  test('agentImage supplies the binary: opencode-init runs its ENTRYPOINT (copies /opencode to /tools) and the server runs /tools/opencode', () => {
    const m = agent({ agentImage: 'quay.io/kubeopencode/kubeopencode-agent-opencode:v1', executorImage: 'devbox:1' });
    const pod = podSpec(m.find('Deployment', 'a-server'));
    const init = container(pod, 'opencode-init');
    expect(init.image).toBe('quay.io/kubeopencode/kubeopencode-agent-opencode:v1');
    // no command: upstream's image has the binary at /opencode only; its ENTRYPOINT copies it to $TOOLS_DIR/$OPENCODE_BIN
    expect(init.command).toBeUndefined();
    expect(init.args).toBeUndefined();
    expect(envOf(init)).toMatchObject({ TOOLS_DIR: '/tools', OPENCODE_BIN: 'opencode' });
    expect(container(pod, 'server').command[0]).toBe('/tools/opencode');
    // writable: /tools/opencode.json is mounted below it, and runc cannot create a mount point under a read-only mount
    expect(mountOf(container(pod, 'server'), '/tools')).toEqual({ name: 'tools', mountPath: '/tools' });
    // the attach pod runs in the attach image (opencode on PATH), not in the agent image (binary off PATH)
    expect(container(podSpec(m.find('PodTemplate', 'a-task')), 'task').image).toBe(`ghcr.io/kubeopencode/kubeopencode-agent-attach:${UPSTREAM_RELEASE}`);
    const withAttach = agent({ agentImage: 'a:1', attachImage: 'registry.example.com/attach:1' });
    expect(container(podSpec(withAttach.find('PodTemplate', 'a-task')), 'task').image).toBe('registry.example.com/attach:1');
  });

  test('opencode-init carries the proxy and the CA bundle like every container', () => {
    const m = agent({ proxy: { httpsProxy: 'http://proxy:3128' }, caBundle: { configMapRef: { name: 'ca' } } });
    const init = container(podSpec(m.find('Deployment', 'a-server')), 'opencode-init');
    expect(envOf(init)).toMatchObject({ HTTPS_PROXY: 'http://proxy:3128', https_proxy: 'http://proxy:3128', CUSTOM_CA_CERT_PATH: '/etc/ssl/certs/custom-ca/tls.crt' });
    expect(mountOf(init, '/etc/ssl/certs/custom-ca')).toMatchObject({ readOnly: true });
  });

  test('a user-supplied runAsUser is kept on opencode-init', () => {
    const m = agent({ podSpec: { securityContext: { runAsUser: 1234, allowPrivilegeEscalation: false } } });
    const init = container(podSpec(m.find('Deployment', 'a-server')), 'opencode-init');
    // merged over the restricted defaults (podSpec.securityContext never drops them)
    expect(init.securityContext).toEqual({ runAsUser: 1234, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
  });

  test('a mount point below a read-only mount is a synth error naming the container and both paths', () => {
    const chart = Testing.chart();
    new Agent(chart, 'a', {
      workspaceDir: '/workspace', serviceAccountName: 'sa', caBundle: { configMapRef: { name: 'ca' } },
      credentials: [{ name: 'k', secretRef: { name: 's', key: 'k' }, mountPath: '/etc/ssl/certs/custom-ca/extra.pem' }],
    });
    expect(() => Testing.synth(chart)).toThrow(/volumeMounts: container 'server': \/etc\/ssl\/certs\/custom-ca\/extra.pem .* below the read-only mount \/etc\/ssl\/certs\/custom-ca/);
  });

  test('persistence: workspace PVC (default 10Gi) replaces the EmptyDir; sessions default 1Gi', () => {
    const m = agent({ persistence: { sessions: {}, workspace: { storageClassName: 'fast' } } });
    expect(m.find('PersistentVolumeClaim', 'a-server-sessions').spec.resources.requests.storage).toBe('1Gi');
    const ws = m.find('PersistentVolumeClaim', 'a-server-workspace');
    expect(ws.spec).toMatchObject({ storageClassName: 'fast', resources: { requests: { storage: '10Gi' } } });
    const pod = podSpec(m.find('Deployment', 'a-server'));
    expect(volume(pod, 'workspace')).toEqual({ name: 'workspace', persistentVolumeClaim: { claimName: 'a-server-workspace' } });
  });

  test('suspend, standby, maxConcurrentTasks and quota are carried in the CR for the controller', () => {
    const m = agent({ suspend: true, standby: { idleTimeout: '30m' }, maxConcurrentTasks: 3, quota: { maxTaskStarts: 10, windowSeconds: 3600 } });
    expect(m.find('Agent', 'a').spec).toMatchObject({
      suspend: true,
      standby: { idleTimeout: '30m' },
      maxConcurrentTasks: 3,
      quota: { maxTaskStarts: 10, windowSeconds: 3600 },
    });
    expect(m.find('Deployment', 'a-server').spec.replicas).toBeUndefined();
  });

  test('the task pod runs opencode run --attach with the description from its environment', () => {
    const m = agent({});
    const pod = podSpec(m.find('PodTemplate', 'a-task'));
    expect(pod.restartPolicy).toBe('Never');
    const script = scriptOf(container(pod, 'task'));
    expect(script).toContain('--attach "$KUBEOPENCODE_SERVER_URL"');
    expect(script).toContain('printf \'%s\' "$TASK_DESCRIPTION"');
    // the kubelet would expand $(NAME) and collapse $$: every $ of the script is doubled in the manifest
    expect(container(pod, 'task').command[2]).not.toMatch(/(^|[^$])\$([^$]|$)/);
  });

  test('a change to a generated file changes the pod template hash (pods roll)', () => {
    const hash = (config: string) =>
      agent({ config }).find('Deployment', 'a-server').spec.template.metadata.annotations['kubeopencode.io/context-hash'];
    expect(hash('{"model":"a/b"}')).toMatch(/^[0-9a-f]{16}$/);
    expect(hash('{"model":"a/b"}')).toBe(hash('{"model":"a/b"}'));
    expect(hash('{"model":"a/b"}')).not.toBe(hash('{"model":"a/c"}'));
  });

  test('mutators: addContext/addCredential/addSkill after construction reach the manifests', () => {
    const c = chart('ns');
    const a = new Agent(c, 'a', base);
    a.addCredential({ name: 'tok', secretRef: { name: 's', key: 'k' }, env: 'TOKEN' });
    a.addContext({ name: 'rules', type: 'Text', text: 'be nice' });
    a.addSkill({ name: 'team', git: { repository: 'https://example.com/skills.git' } });
    const m = synth(c);
    const pod = podSpec(m.find('Deployment', 'a-server'));
    expect(envOf(container(pod, 'server')).TOKEN).toBeDefined();
    expect(container(pod, 'git-init-skill-team')).toBeDefined();
    expect(m.find('Agent', 'a').spec.contexts).toEqual([{ name: 'rules', type: 'Text', text: 'be nice' }]);
  });
});

describe('Agent: synth is deterministic', () => {
  test('the same input gives byte-identical YAML', () => {
    const build = () => {
      const c = chart('ns');
      new Agent(c, 'a', {
        ...base,
        persistence: { sessions: {}, workspace: {} },
        contexts: [
          { type: 'Text', text: 't' },
          { type: 'Git', git: { repository: 'https://e.com/r.git', sync: { enabled: true } }, mountPath: 'r' },
        ],
        config: '{"model":"x/y"}',
      });
      return Testing.synth(c);
    };
    expect(JSON.stringify(build())).toBe(JSON.stringify(build()));
  });
});

describe('Agent: bad input is a synth-time error naming the construct and the field', () => {
  const expectError = (props: Partial<AgentProps>, pattern: RegExp, id = 'bad') => {
    const c = chart('ns');
    let err: unknown;
    try {
      new Agent(c, id, { ...base, ...props } as AgentProps);
      Testing.synth(c);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(new RegExp(`Agent 'test/${id}'`));
    expect((err as Error).message).toMatch(pattern);
  };

  test('an invalid DNS name', () => expectError({ metadata: { name: 'Team_Agent' } }, /metadata\.name: 'Team_Agent' must be a DNS label/));
  test('a name starting with a digit (not a Service name)', () => expectError({}, /metadata\.name/, '1agent'));
  test('a bad quantity', () => expectError({ persistence: { sessions: { size: '2GB' } } }, /persistence\.sessions\.size: '2GB' is not a Kubernetes quantity \(e\.g\. 2Gi\)/));
  test('a bad port', () => expectError({ port: 70000 }, /port: 70000 is not a port \(1 to 65535\)/));
  test('config that is not JSON', () => expectError({ config: '{model: x}' }, /config: is not valid JSON/));
  test('config that is JSON but not an object', () => expectError({ config: '[1]' }, /config: must be a JSON object/));
  test('a credential with neither env nor mountPath', () =>
    expectError({ credentials: [{ name: 'c', secretRef: { name: 's', key: 'k' } }] }, /credentials\[0\]: credential 'c' needs env .* or mountPath/));
  test('a credential env without a key', () =>
    expectError({ credentials: [{ name: 'c', secretRef: { name: 's' }, env: 'X' }] }, /credentials\[0\]\.secretRef\.key: is required with env/));
  test('missing workspaceDir', () => expectError({ workspaceDir: undefined }, /workspaceDir: is required/));
  test('missing serviceAccountName', () => expectError({ serviceAccountName: undefined }, /serviceAccountName: is required/));
  test('a relative workspaceDir', () => expectError({ workspaceDir: 'ws' }, /workspaceDir: 'ws' must be an absolute path/));
  test('a typo inside a Kubernetes-native podSpec object', () =>
    expectError({ podSpec: { securityContext: { runAsNonRot: true } } }, /podSpec\.securityContext\.runAsNonRot: is not a field/));
  test('a bad quota window', () => expectError({ quota: { maxTaskStarts: 1, windowSeconds: 10 } }, /quota\.windowSeconds: 10 must be between 60 and 86400/));
  test('a bad standby timeout', () => expectError({ standby: { idleTimeout: 'soon' } }, /standby\.idleTimeout: 'soon' is not a duration/));
  test('every problem is reported at once', () => {
    const c = chart();
    expect(() => new Agent(c, 'x', { ...base, port: 0, config: 'nope' })).toThrow(ValidationError);
    try {
      new Agent(chart(), 'x', { ...base, port: 0, config: 'nope' });
    } catch (e) {
      expect((e as Error).message.split('\n')).toHaveLength(2);
    }
  });
});


describe('Agent: secure by default', () => {
  test('every pod passes the Restricted Pod Security Standard: runAsNonRoot, and a non-root uid for the root-user script images', () => {
    const m = agent({
      contexts: [
        { type: 'Text', text: 'x' },
        { name: 'code', type: 'Git', git: { repository: 'https://github.com/org/repo.git' }, mountPath: 'code' },
        { name: 'spec', type: 'URL', url: { source: 'https://example.com/a.yaml' } },
      ],
      agentImage: 'quay.io/kubeopencode/kubeopencode-agent-opencode:latest',
    });
    for (const o of [m.find('Deployment', 'a-server'), m.find('PodTemplate', 'a-task')]) {
      const pod = podSpec(o);
      expect(pod.securityContext).toEqual({ runAsNonRoot: true });
      expect(restrictedViolations(pod)).toEqual([]);
    }
    const pod = podSpec(m.find('Deployment', 'a-server'));
    const scripts = ['opencode-init', 'git-init-code', 'url-fetch-spec', 'context-init'];
    for (const name of scripts) {
      const c = container(pod, name);
      expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' }, runAsUser: 65532 });
      if (name !== 'opencode-init') expect(envOf(c).HOME).toBe('/tmp'); // opencode-init only copies a file
    }
    // the main container runs as its image's (non-root) user
    expect(container(pod, 'server').securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
  });

  test('podSpec.securityContext is merged over the defaults: setting one field keeps the others', () => {
    const m = agent({ podSpec: { securityContext: { readOnlyRootFilesystem: true } } });
    const pod = podSpec(m.find('Deployment', 'a-server'));
    expect(container(pod, 'server').securityContext).toEqual({
      allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' }, readOnlyRootFilesystem: true,
    });
    expect(restrictedViolations(pod)).toEqual([]);
  });

  test('no ServiceAccount token in the server and task pods unless podSpec.automountServiceAccountToken asks for it', () => {
    const m = agent({});
    for (const o of [m.find('Deployment', 'a-server'), m.find('PodTemplate', 'a-task')]) expect(podSpec(o).automountServiceAccountToken).toBe(false);
    const m2 = agent({ podSpec: { automountServiceAccountToken: true } });
    for (const o of [m2.find('Deployment', 'a-server'), m2.find('PodTemplate', 'a-task')]) expect(podSpec(o).automountServiceAccountToken).toBe(true);
  });

  test('an explicit opt-out is kept as written (and is what the Restricted check reports)', () => {
    const c = chart('team');
    new Agent(c, 'a', { ...base, podSpec: { podSecurityContext: { runAsNonRoot: false, runAsUser: 0 } } });
    const pod = podSpec(synth(c, { restricted: false }).find('Deployment', 'a-server'));
    expect(pod.securityContext).toEqual({ runAsNonRoot: false, runAsUser: 0 });
    expect(restrictedViolations(pod)).toEqual(expect.arrayContaining([expect.stringMatching(/^restricted: runAsNonRoot != true/), 'restricted: pod runAsUser = 0']));
  });

  test('a NetworkPolicy admits only the agent\'s task pods, the controller and allowed peers to the server port', () => {
    const c = chart('team');
    new Agent(c, 'a', { ...base, port: 4100, networkPolicy: { allowFrom: [{ namespaceSelector: { matchLabels: { team: 'dev' } } }] } });
    const m = synth(c);
    const np = m.find('NetworkPolicy', 'a-server');
    expect(np.spec.podSelector.matchLabels).toEqual(m.find('Deployment', 'a-server').spec.selector.matchLabels);
    expect(np.spec.policyTypes).toEqual(['Ingress']);
    const [rule] = np.spec.ingress;
    expect(rule.ports).toEqual([{ port: 4100, protocol: 'TCP' }]);
    expect(rule.from[0].podSelector.matchLabels).toEqual({ 'kubeopencode.io/agent': 'a', 'app.kubernetes.io/component': 'task' });
    // the task pods the controller creates from the PodTemplate carry exactly those labels
    expect(m.find('PodTemplate', 'a-task').template.metadata.labels).toMatchObject(rule.from[0].podSelector.matchLabels);
    expect(rule.from[1].namespaceSelector.matchLabels).toEqual({ 'kubernetes.io/metadata.name': 'kubeopencode-system' });
    expect(rule.from[2]).toEqual({ namespaceSelector: { matchLabels: { team: 'dev' } } });
  });

  test('it can be turned off', () => {
    const c = chart('team');
    new Agent(c, 'a', { ...base, networkPolicy: { enabled: false } });
    expect(synth(c).all('NetworkPolicy')).toHaveLength(0);
  });
});

describe('Agent: the controller reads only this Agent\'s Secrets', () => {
  test('a Role in the Agent\'s namespace names its server password Secret and its Rollout credentials; the ClusterRole has no Secrets', () => {
    const m = agent({
      contexts: [{ name: 'cfg', type: 'Git', git: { repository: 'https://github.com/org/cfg.git', secretRef: { name: 'git-pat' }, sync: { enabled: true, policy: 'Rollout' } }, mountPath: 'cfg' }],
    });
    const role = m.find('Role', 'a-controller');
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['a-server-auth', 'git-pat'], verbs: ['get'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
    ]);
    expect(m.find('RoleBinding', 'a-controller').subjects).toEqual([{ kind: 'ServiceAccount', name: 'kubeopencode-controller', namespace: 'kubeopencode-system' }]);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { controllerRules } = require('../../src/constructs/controller-install');
    expect(controllerRules().filter((r: any) => r.resources.includes('secrets'))).toEqual([]);
  });
});
