import { Testing } from 'cdk8s';
import { Agent, AgentProps } from '../../src';
import { allContainers, chart, container, envOf, mountOf, podSpec, synth, volume } from '../util/synth';

const base: AgentProps = { workspaceDir: '/workspace', serviceAccountName: 'kubeopencode-agent' };

function build(props: Partial<AgentProps>, namespace = 'ns') {
  const c = chart(namespace);
  new Agent(c, 'a', { ...base, ...props });
  const m = synth(c);
  const deploy = m.find('Deployment', 'a-server');
  return { m, deploy, pod: podSpec(deploy), cm: m.find('ConfigMap', 'a-server-context') };
}

describe('Flexible Context System: the guide example', () => {
  const { pod, cm } = build({
    contexts: [
      { type: 'Text', text: '# Rules for AI Agent\nAlways use signed commits...\n' },
      { type: 'ConfigMap', configMap: { name: 'my-scripts' }, mountPath: '.scripts', fileMode: 493 },
      { type: 'Git', git: { repository: 'https://github.com/org/repo.git', ref: 'main' }, mountPath: 'source-code' },
      { name: 'private-repo', type: 'Git', git: { repository: 'https://github.com/org/private-repo.git', ref: 'main', secretRef: { name: 'github-git-credentials' } }, mountPath: 'private-source' },
      { type: 'URL', url: { source: 'https://api.example.com/openapi.yaml' }, mountPath: 'specs/openapi.yaml' },
    ],
  });
  const server = container(pod, 'server');

  test('Text without mountPath goes to .kubeopencode/context.md, loaded through OPENCODE_CONFIG_CONTENT', () => {
    expect(cm.data['context-0.md']).toBe('# Rules for AI Agent\nAlways use signed commits...\n');
    const init = container(pod, 'context-init');
    expect(envOf(init).CONTEXT_FILE).toBe('/workspace/.kubeopencode/context.md');
    expect(envOf(init).CONTEXT_PARTS).toBe('text-0|Text|/kubeopencode/generated/context-0.md');
    // context.md, then the AGENTS.md of each repository checked out below the workspace (OpenCode would not find them)
    expect(JSON.parse(envOf(server).OPENCODE_CONFIG_CONTENT)).toEqual({
      instructions: ['/workspace/.kubeopencode/context.md', '/workspace/source-code/AGENTS.md', '/workspace/private-source/AGENTS.md'],
    });
  });

  test('ConfigMap with mountPath and fileMode 493 (0755) is mounted in the workspace', () => {
    const mount = mountOf(server, '/workspace/.scripts')!;
    expect(volume(pod, mount.name).configMap).toEqual({ name: 'my-scripts', defaultMode: 493 });
  });

  test('Git contexts are cloned by git-init, one per context, into workspaceDir/mountPath', () => {
    expect(envOf(container(pod, 'git-init-git-2'))).toMatchObject({ GIT_REPO: 'https://github.com/org/repo.git', GIT_REF: 'main', GIT_DEST: '/workspace/source-code', GIT_DEPTH: '1' });
    const priv = container(pod, 'git-init-private-repo');
    expect(envOf(priv).GIT_DEST).toBe('/workspace/private-source');
    // the Secret (username + password/PAT) is a mounted directory read by a credential helper: never env or argv
    const dir = envOf(priv).GIT_CREDENTIALS_DIR;
    expect(dir).toBe('/kubeopencode/git-credentials/private-repo');
    // 0444: the git containers run as uid 65532 and a Secret's files are root's; only they mount it
    expect(volume(pod, mountOf(priv, dir)!.name).secret).toEqual({ secretName: 'github-git-credentials', defaultMode: 0o444 });
    expect(JSON.stringify(priv.env)).not.toMatch(/secretKeyRef/);
  });

  test('URL is fetched by url-fetch into workspaceDir/mountPath', () => {
    const fetch = container(pod, 'url-fetch-url-4');
    expect(envOf(fetch)).toMatchObject({ URL_SOURCE: 'https://api.example.com/openapi.yaml', URL_DEST: '/workspace/specs/openapi.yaml', URL_TIMEOUT: '30' });
    expect(fetch.image).toMatch(/curl/);
  });

  test('init containers run in order: opencode-init, clones and fetches, then context-init', () => {
    expect(pod.initContainers.map((c: any) => c.name)).toEqual(['opencode-init', 'git-init-git-2', 'git-init-private-repo', 'url-fetch-url-4', 'context-init']);
  });
});

describe('Content aggregation', () => {
  test('ConfigMap and URL contexts without mountPath join context.md in spec order, each named', () => {
    const { pod } = build({
      contexts: [
        { name: 'rules', type: 'Text', text: 'r' },
        { name: 'runbook', type: 'ConfigMap', configMap: { name: 'runbook', key: 'main.md' } },
        { name: 'all-docs', type: 'ConfigMap', configMap: { name: 'docs', optional: true } },
        { name: 'spec', type: 'URL', url: { source: 'https://e.com/x.md' } },
        { name: 'platform', type: 'Runtime' },
      ],
    });
    const init = container(pod, 'context-init');
    expect(envOf(init).CONTEXT_PARTS.split('\n')).toEqual([
      'rules|Text|/kubeopencode/generated/context-0.md',
      'runbook|ConfigMap|/kubeopencode/contexts/cm-1/main.md',
      'all-docs|ConfigMap|/kubeopencode/contexts/cm-2|optional',
      'spec|URL|/kubeopencode/contexts/fetched/url-3',
      'platform|Runtime|/kubeopencode/generated/runtime-4.md',
    ]);
    expect(mountOf(init, '/kubeopencode/contexts/cm-1')).toBeDefined();
    expect(envOf(container(pod, 'url-fetch-spec')).URL_DEST).toBe('/kubeopencode/contexts/fetched/url-3');
  });

  test('the Runtime context tells the agent its name, namespace, workspace, how Tasks reach it, its contexts and skills', () => {
    const { cm } = build({
      contexts: [{ name: 'platform', type: 'Runtime' }, { name: 'code', type: 'Git', git: { repository: 'https://e.com/r.git' }, mountPath: 'code' }],
      skills: [{ name: 'team', git: { repository: 'https://e.com/s.git', names: ['review'] } }],
    }, 'prod');
    const text = cm.data['runtime-0.md'];
    expect(text).toContain('"a" in namespace "prod"');
    expect(text).toContain('/workspace');
    expect(text).toContain('spec.agentRef.name: a');
    expect(text).toContain('http://a.prod.svc.cluster.local:4096');
    expect(text).toContain('- code (Git) at code in the workspace');
    expect(text).toContain('- team: /skills/team/ (review)');
  });

  test('no aggregated context: no context-init; only the repository\'s AGENTS.md is an instruction', () => {
    const { pod } = build({ contexts: [{ type: 'Git', git: { repository: 'https://e.com/r.git' }, mountPath: 'r' }] });
    expect(pod.initContainers.map((c: any) => c.name)).toEqual(['opencode-init', 'git-init-git-0']);
    expect(JSON.parse(envOf(container(pod, 'server')).OPENCODE_CONFIG_CONTENT)).toEqual({ instructions: ['/workspace/r/AGENTS.md'] });
  });

  test('a repository at the workspace root needs no extra instruction (OpenCode finds its AGENTS.md itself)', () => {
    const { pod } = build({ contexts: [{ type: 'Git', git: { repository: 'https://e.com/r.git' }, mountPath: '.' }] });
    expect(envOf(container(pod, 'server')).OPENCODE_CONFIG_CONTENT).toBeUndefined();
  });
});

describe('Custom CA Certificates', () => {
  test.each([
    [{ configMapRef: { name: 'custom-ca-bundle' } }, { configMap: { name: 'custom-ca-bundle', items: [{ key: 'ca-bundle.crt', path: 'tls.crt' }] } }],
    [{ secretRef: { name: 'custom-ca-secret' } }, { secret: { secretName: 'custom-ca-secret', items: [{ key: 'ca.crt', path: 'tls.crt' }] } }],
    [{ configMapRef: { name: 'b', key: 'k' } }, { configMap: { name: 'b', items: [{ key: 'k', path: 'tls.crt' }] } }],
  ])('%j: mounted at /etc/ssl/certs/custom-ca/tls.crt with CUSTOM_CA_CERT_PATH in every container', (caBundle, source) => {
    const { m, pod } = build({
      caBundle: caBundle as any,
      contexts: [{ type: 'Git', git: { repository: 'https://git.corp/r.git' }, mountPath: 'r' }, { type: 'URL', url: { source: 'https://x/y' }, mountPath: 'y' }],
    });
    expect(volume(pod, 'custom-ca')).toEqual({ name: 'custom-ca', ...source });
    const task = podSpec(m.find('PodTemplate', 'a-task'));
    for (const c of [...allContainers(pod), ...allContainers(task)]) {
      expect(mountOf(c, '/etc/ssl/certs/custom-ca')).toMatchObject({ name: 'custom-ca', readOnly: true });
      expect(envOf(c).CUSTOM_CA_CERT_PATH).toBe('/etc/ssl/certs/custom-ca/tls.crt');
    }
  });
});

describe('HTTP/HTTPS Proxy Configuration', () => {
  test('upper- and lower-case variables in every container; .svc and .cluster.local appended to noProxy', () => {
    const { m, pod } = build({
      proxy: { httpProxy: 'http://proxy.corp.example.com:8080', httpsProxy: 'http://proxy.corp.example.com:8080', noProxy: 'localhost,127.0.0.1,10.0.0.0/8,.corp.example.com' },
      contexts: [{ type: 'Git', git: { repository: 'https://e.com/r.git', sync: { enabled: true } }, mountPath: 'r' }],
    });
    const task = podSpec(m.find('PodTemplate', 'a-task'));
    const containers = [...allContainers(pod), ...allContainers(task)];
    expect(containers.length).toBeGreaterThanOrEqual(4);
    for (const c of containers) {
      const env = envOf(c);
      for (const n of ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy']) expect(env[n]).toBe('http://proxy.corp.example.com:8080');
      for (const n of ['NO_PROXY', 'no_proxy']) expect(env[n]).toBe('localhost,127.0.0.1,10.0.0.0/8,.corp.example.com,.svc,.cluster.local');
    }
  });

  test('noProxy unset still keeps in-cluster traffic direct', () => {
    const { pod } = build({ proxy: { httpsProxy: 'http://p:3128' } });
    expect(envOf(container(pod, 'server')).NO_PROXY).toBe('.svc,.cluster.local');
  });
});

describe('Skills', () => {
  const { pod, cm } = build({
    skills: [
      { name: 'official-skills', git: { repository: 'https://github.com/anthropics/skills.git', ref: 'main', path: 'skills/', names: ['frontend-design', 'webapp-testing'] } },
      { name: 'internal-skills', git: { repository: 'https://github.com/my-org/private-skills.git', ref: 'v2.0.0', secretRef: { name: 'github-pat' } } },
    ],
    config: '{"model":"x/y","skills":{"paths":["/opt/skills"]}}',
  });

  test('each source is cloned by git-init into /skills/{name}/', () => {
    const official = container(pod, 'git-init-skill-official-skills');
    expect(envOf(official)).toMatchObject({ GIT_REPO: 'https://github.com/anthropics/skills.git', GIT_REF: 'main', GIT_DEST: '/skills/official-skills' });
    const internal = container(pod, 'git-init-skill-internal-skills');
    expect(envOf(internal).GIT_CREDENTIALS_DIR).toBe('/kubeopencode/git-credentials/skill-internal-skills');
    expect(mountOf(container(pod, 'server'), '/skills')).toMatchObject({ name: 'skills', readOnly: true });
  });

  test('skills.paths is injected into opencode.json, honouring path and names, keeping the user\'s paths', () => {
    expect(JSON.parse(cm.data['opencode.json'])).toEqual({
      model: 'x/y',
      skills: { paths: ['/opt/skills', '/skills/official-skills/skills/frontend-design', '/skills/official-skills/skills/webapp-testing', '/skills/internal-skills'] },
    });
  });
});

describe('Git Auto-Sync', () => {
  test('HotReload (default): a one-time sync before start and a git-sync sidecar every interval (default 5m)', () => {
    const { pod } = build({
      contexts: [{ name: 'team-prompts', type: 'Git', git: { repository: 'https://github.com/org/prompts.git', ref: 'main', sync: { enabled: true } }, mountPath: 'prompts/' }],
    });
    const init = container(pod, 'git-init-team-prompts');
    const sidecar = pod.containers.find((c: any) => c.name === 'git-sync-team-prompts');
    expect(envOf(init)).toMatchObject({ GIT_SYNC_ONE_TIME: 'true', GIT_SYNC_LINK: '/workspace/prompts', GIT_SYNC_ROOT: '/workspace/.kubeopencode/git/team-prompts' });
    expect(envOf(sidecar)).toMatchObject({ GIT_SYNC_INTERVAL: '300', GIT_SYNC_LINK: '/workspace/prompts', GIT_REF: 'main' });
    expect(envOf(sidecar).GIT_SYNC_ONE_TIME).toBeUndefined();
  });

  test('HotReload: the sync repository is writable by the git-sync containers only, read-only in the server', () => {
    const { pod } = build({
      contexts: [{ name: 'team-prompts', type: 'Git', git: { repository: 'https://github.com/org/prompts.git', sync: { enabled: true } }, mountPath: 'prompts' }],
    });
    const root = '/workspace/.kubeopencode/git/team-prompts';
    // the mount that decides what a path is: the deepest mountPath containing it
    const effective = (c: any, p: string) => (c.volumeMounts as any[])
      .filter((m) => p === m.mountPath || p.startsWith(`${m.mountPath}/`))
      .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
    for (const p of [root, `${root}/.git`, `${root}/.git/config`, `${root}/.worktrees/abc`]) {
      const m = effective(container(pod, 'server'), p);
      expect(m).toMatchObject({ readOnly: true });
      expect(m.name).not.toBe('workspace');
      for (const name of ['git-init-team-prompts', 'git-sync-team-prompts']) {
        const c = allContainers(pod).find((x: any) => x.name === name);
        expect(effective(c, p)).toMatchObject({ name: m.name });
        expect(effective(c, p).readOnly).toBeFalsy();
      }
    }
    expect(volume(pod, effective(container(pod, 'server'), root).name).emptyDir).toEqual({});
  });

  test('Rollout: no sidecar; the context is marked on the Deployment for the controller', () => {
    const { deploy, pod } = build({
      contexts: [{ name: 'agent-config', type: 'Git', git: { repository: 'https://github.com/org/agent-config.git', ref: 'main', sync: { enabled: true, interval: '10m', policy: 'Rollout' } }, mountPath: '.' }],
    });
    expect(pod.containers.map((c: any) => c.name)).toEqual(['server']);
    expect(JSON.parse(deploy.metadata.annotations['kubeopencode.io/git-rollout'])).toEqual([
      { name: 'agent-config', repository: 'https://github.com/org/agent-config.git', ref: 'main', interval: '10m' },
    ]);
    // a rollout exists to pick up the new commit, so git-init updates an existing checkout
    expect(envOf(container(pod, 'git-init-agent-config'))).toMatchObject({ GIT_DEST: '/workspace', GIT_UPDATE_EXISTING: 'true' });
  });
});

describe('Bad contexts are synth-time errors', () => {
  const expectError = (contexts: any[], pattern: RegExp) => {
    const c = chart('ns');
    expect(() => {
      new Agent(c, 'bad', { ...base, contexts });
      Testing.synth(c);
    }).toThrow(pattern);
  };
  test('type selects the field', () => expectError([{ type: 'Git', text: 'x' }], /contexts\[0\]\.text: is not allowed for a Git context \(set git instead\)[\s\S]*contexts\[0\]\.git: is required for a Git context/));
  test('an unknown type', () => expectError([{ type: 'Html' }], /contexts\[0\]\.type: 'Html' is not a context type/));
  test('Git needs mountPath', () => expectError([{ type: 'Git', git: { repository: 'https://e.com/r.git' } }], /contexts\[0\]\.mountPath: is required for a Git context/));
  test('HotReload cannot swap the workspace root', () =>
    expectError([{ type: 'Git', git: { repository: 'https://e.com/r.git', sync: { enabled: true } }, mountPath: '.' }], /HotReload swaps a symlink/));
  test('mountPath outside the workspace', () => expectError([{ type: 'Text', text: 'x', mountPath: '../etc/passwd' }], /must be inside workspaceDir/));
  test('a URL that is not http(s)', () => expectError([{ type: 'URL', url: { source: 'ftp://x/y' } }], /url\.source: 'ftp:\/\/x\/y' is not an http/));
  test('duplicate names', () => expectError([{ name: 'x', type: 'Text', text: 'a' }, { name: 'x', type: 'Text', text: 'b' }], /contexts\[1\]\.name: 'x' is used twice/));
  test('a Runtime context with mountPath', () => expectError([{ type: 'Runtime', mountPath: 'r.md' }], /Runtime context always goes into context\.md/));
});

describe('Inputs that would move a secret or a file where it does not belong are synth-time errors', () => {
  const errorOf = (props: Partial<AgentProps>): string => {
    const c = chart('ns');
    try {
      new Agent(c, 'bad', { ...base, ...props });
      Testing.synth(c);
    } catch (e) {
      return (e as Error).message;
    }
    return '';
  };
  const cm = (key: string) => ({ contexts: [{ name: 'ops', type: 'ConfigMap' as const, configMap: { name: 'runbooks', key } }] });

  test.each([
    '../../../../var/run/secrets/kubernetes.io/serviceaccount/token',
    '..data',
    '.',
    'a/b',
    'a\nb',
    'x'.repeat(254),
  ])('ConfigMap key %j is not a ConfigMap key', (key) => {
    expect(errorOf(cm(key))).toContain(`Agent 'test/bad': contexts[0].configMap.key: ${JSON.stringify(key)} is not a ConfigMap key (letters, digits, '-', '_' and '.', at most 253 characters, not '.' and not starting with '..')`);
  });

  test('a valid ConfigMap key is accepted', () => {
    expect(errorOf(cm('runbook.v2_final-1.md'))).toBe('');
    expect(errorOf(cm('.hidden'))).toBe('');
  });

  test('credentials in a Git, URL or skill repository URL', () => {
    const msg = errorOf({
      contexts: [
        { name: 'code', type: 'Git', git: { repository: 'https://bot:ghp_TOKEN@github.com/org/repo.git' }, mountPath: 'code' },
        { name: 'spec', type: 'URL', url: { source: 'https://user:pw@api.example.com/openapi.yaml' } },
      ],
      skills: [{ name: 'sk', git: { repository: 'https://ghp_TOKEN@github.com/org/skills.git' } }],
    });
    expect(msg).toContain("contexts[0].git.repository: carries credentials (user:token@ before the host); they would be plain text in the manifest, the pod spec and the agent's view: put them in a Secret (keys username and password) and name it in secretRef");
    expect(msg).toContain('contexts[1].url.source: carries credentials (user:password@ before the host)');
    expect(msg).toContain('skills[0].git.repository: carries credentials');
    expect(msg).not.toContain('ghp_TOKEN');
  });

  test('file:// and other transports are not Git URLs; git@ and ssh:// are', () => {
    expect(errorOf({ contexts: [{ name: 'code', type: 'Git', git: { repository: 'file:///var/run/secrets' }, mountPath: 'code' }] }))
      .toContain('contexts[0].git.repository: "file:///var/run/secrets" is not a Git URL (https://, http://, ssh:// or git@; file:// and other transports are refused)');
    expect(errorOf({ skills: [{ name: 'sk', git: { repository: 'ext::sh -c evil' } }] })).toContain('skills[0].git.repository: "ext::sh -c evil" is not a Git URL');
    expect(errorOf({ contexts: [{ name: 'code', type: 'Git', git: { repository: 'git@github.com:org/repo.git' }, mountPath: 'code' }] })).toBe('');
    expect(errorOf({ contexts: [{ name: 'code', type: 'Git', git: { repository: 'ssh://git@github.com/org/repo.git' }, mountPath: 'code' }] })).toBe('');
  });

  test('a password in a proxy URL is allowed but warned about loudly, naming the construct and the field', () => {
    const spy = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      expect(errorOf({ proxy: { httpsProxy: 'http://proxyuser:s3cret@proxy.corp:8080', httpProxy: 'http://proxy.corp:8080' } })).toBe('');
      expect(spy.mock.calls.map((c) => [String(c[0]), c[1]])).toEqual([[
        expect.stringMatching(/^Agent 'test\/bad': proxy\.httpsProxy: the proxy URL carries a password: it is plain text in the manifest and in the environment of every container/),
        'KubeOpenCodeSecurityWarning',
      ]]);
    } finally {
      spy.mockRestore();
    }
  });

  test('a context name or key with a line break never becomes another part of context.md', () => {
    const { planContexts } = require('../../src/pod/contexts');
    const base2 = { images: { git: 'g', curl: 'c' }, env: [], mounts: [], securityContext: {}, workspaceDir: '/workspace' };
    expect(() => planContexts({
      contexts: [{ name: 'a\nevil|ConfigMap|/var/run/secrets/kubernetes.io/serviceaccount/token', type: 'Text', text: 'x' }],
      base: base2, runtimeText: () => '', generatedVolume: 'generated',
    })).toThrow(/contains a line break or '\|'/);
    expect(() => planContexts({
      contexts: [{ name: 'ops', type: 'ConfigMap', configMap: { name: 'cm', key: 'k\nevil|ConfigMap|/etc' } }],
      base: base2, runtimeText: () => '', generatedVolume: 'generated',
    })).toThrow(/contains a line break or '\|'/);
  });
});
