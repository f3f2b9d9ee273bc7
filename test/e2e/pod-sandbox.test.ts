import * as fs from 'fs';
import * as path from 'path';
import { PathMapper, PodSandbox, deepMerge, expandK8s } from '../fixtures/opencode';

/** The kubelet semantics the opencode e2e tests rely on (test/fixtures/opencode.ts), checked on their own. */

test('expandK8s: $(VAR) of known names, $$ → $, everything else unchanged (the kubelet\'s rules)', () => {
  const vars = { HOME: '/tmp', A: 'x' };
  expect(expandK8s('$(HOME)/a $(NOPE) $$(HOME) $$ $A ${A} $(dirname "$f") $', vars)).toBe('/tmp/a $(NOPE) $(HOME) $ $A ${A} $(dirname "$f") $');
  expect(expandK8s('tmp="$F.tmp.$$"', vars)).toBe('tmp="$F.tmp.$"');
  expect(expandK8s('$(unclosed', vars)).toBe('$(unclosed');
});

test('PathMapper: longest mount wins, only whole path components, idempotent', () => {
  const m = new PathMapper([['/workspace', '/sb/ws'], ['/workspace/code', '/sb/code'], ['/tmp', '/sb/tmp']], '/sb');
  expect(m.host('/workspace/code/a')).toBe('/sb/code/a');
  expect(m.host('/workspace/x')).toBe('/sb/ws/x');
  expect(m.host('/workspaces')).toBeUndefined();
  const text = 'A=/workspace/code/x B=/workspaces C=/x/workspace D=/tmp E="/workspace/.kubeopencode/context.md"\n/tmp/a|/workspace';
  const once = m.rewrite(text);
  expect(once).toBe('A=/sb/code/x B=/workspaces C=/x/workspace D=/sb/tmp E="/sb/ws/.kubeopencode/context.md"\n/sb/tmp/a|/sb/ws');
  expect(m.rewrite(once)).toBe(once);
  expect(m.rewriteJson({ skills: { paths: ['/workspace/s'] }, n: 1 })).toEqual({ skills: { paths: ['/sb/ws/s'] }, n: 1 });
});

test('deepMerge keeps the generated keys and lets the overlay win', () => {
  expect(deepMerge({ a: 1, p: { x: { k: 1 } }, l: [1] }, { p: { y: 2 }, l: [2] })).toEqual({ a: 1, p: { x: { k: 1 }, y: 2 }, l: [2] });
});

describe('PodSandbox', () => {
  const pod = {
    containers: [{
      name: 'main',
      command: ['/bin/sh', '-c', 'echo "$(GREETING) $$HOME"; cat /cfg/app.json; cat /work/notes/n.md; printenv SECRET; pwd'],
      workingDir: '/work',
      env: [
        { name: 'HOME', value: '/tmp' },
        { name: 'GREETING', value: 'hi from $(HOME)' },
        { name: 'SECRET', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
        { name: 'CFG', value: '/cfg/app.json' },
      ],
      volumeMounts: [
        { name: 'work', mountPath: '/work' },
        { name: 'gen', mountPath: '/cfg/app.json', subPath: 'app.json', readOnly: true },
        { name: 'gen', mountPath: '/work/notes/n.md', subPath: 'n.md', readOnly: true },
        { name: 'tmp', mountPath: '/tmp' },
      ],
    }],
    volumes: [
      { name: 'work', persistentVolumeClaim: { claimName: 'work-pvc' } },
      { name: 'tmp', emptyDir: {} },
      { name: 'gen', configMap: { name: 'gen' } },
    ],
  };
  let sb: PodSandbox;
  beforeAll(() => {
    sb = new PodSandbox(pod, { configMaps: { gen: { 'app.json': '{"a":1}', 'n.md': 'NOTE' } }, secrets: { s: { k: 'v3ry' } } });
  });
  afterAll(() => sb.cleanup());

  test('runs the command with the resolved, expanded and mapped env; nested mounts appear in the parent', async () => {
    const p = sb.prepare('main');
    expect(p.env).toMatchObject({ HOME: sb.hostPath('main', '/tmp'), GREETING: `hi from ${sb.hostPath('main', '/tmp')}`, SECRET: 'v3ry', CFG: sb.hostPath('main', '/cfg/app.json') });
    expect(sb.hostPath('main', '/work/notes/n.md')).toBe(path.join(sb.hostPath('main', '/work'), 'notes/n.md'));
    const r = await sb.run('main', { timeoutMs: 10_000 });
    expect(r.code).toBe(0);
    const tmp = sb.hostPath('main', '/tmp');
    // $(GREETING) is the kubelet's, $$HOME becomes the shell's $HOME
    expect(r.stdout.split('\n')).toEqual([`hi from ${tmp} ${tmp}`, '{"a":1}NOTEv3ry', sb.hostPath('main', '/work'), '']);
  });

  test('an env path outside every mount is an error (it would be on the container\'s root filesystem)', () => {
    const bad = new PodSandbox({ containers: [{ name: 'c', command: ['true'], env: [{ name: 'DB', value: '/data/x.db' }] }], volumes: [] });
    try {
      expect(() => bad.prepare('c')).toThrow(/DB=\/data\/x\.db: not on any volume mount/);
    } finally {
      bad.cleanup();
    }
  });

  test('a missing Secret fails like a pod that cannot start', () => {
    const bad = new PodSandbox({ containers: [{ name: 'c', command: ['true'], env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'nope', key: 'k' } } }] }], volumes: [] });
    try {
      expect(() => bad.prepare('c')).toThrow(/Secret nope key k, which was not supplied/);
    } finally {
      bad.cleanup();
    }
  });

  test('recreate(): a new pod keeps the PVC and empties the emptyDirs', () => {
    fs.writeFileSync(path.join(sb.hostPath('main', '/work'), 'kept'), '1');
    fs.writeFileSync(path.join(sb.hostPath('main', '/tmp'), 'gone'), '1');
    sb.recreate();
    expect(fs.existsSync(path.join(sb.hostPath('main', '/work'), 'kept'))).toBe(true);
    expect(fs.existsSync(path.join(sb.hostPath('main', '/tmp'), 'gone'))).toBe(false);
  });
});
