import * as fs from 'fs';
import * as path from 'path';
import { Agent, AgentTemplate, NAMES, OPENCODE_VERSION } from '../../src';
import { LlmStub, RecordedRequest, STUB_API_KEY, startLlmStub } from '../fixtures/llm-stub';
import {
  AgentObjects,
  OFFLINE_ENV,
  OpencodeServer,
  PodSandbox,
  ProcResult,
  agentObjects,
  basicAuth,
  configMapsOf,
  describeResult,
  ensureOpencode,
  installedOpencodeVersion,
  startOpencodeServer,
  writeSkill,
} from '../fixtures/opencode';
import { Obj, chart, synth } from '../util/synth';

/**
 * End to end against the real `opencode` (the opencode-ai devDependency): what our constructs synthesize — the
 * server Deployment's env, volumes and init containers, the generated ConfigMap, the task PodTemplate's command —
 * is run on this machine (test/fixtures/opencode.ts maps every container path onto temp dirs) against a scripted
 * LLM on 127.0.0.1 (test/fixtures/llm-stub.ts). Nothing leaves the machine: see OFFLINE_ENV.
 *
 * One server is shared by the tests of the first block, in order; the last one restarts it as a new pod.
 */

// opencode's first start on a loaded 2-core machine (two jest workers) can take tens of seconds: the waits below are
// ceilings on conditions, not timings
jest.setTimeout(180_000);

const PASSWORD = 'e2e-server-password';
const SECRETS = { 'e2e-server-auth': { password: PASSWORD }, 'subdir-server-auth': { password: PASSWORD } };
const USER_CONFIGMAPS = {
  'team-docs': { 'a-style.md': 'CTX-CM-DIR-A: prefer small functions', 'b-review.md': 'CTX-CM-DIR-B: two approvals' },
  runbook: { 'runbook.md': 'CTX-CM-KEY: restart with kubectl rollout restart', 'other.md': 'CTX-CM-UNUSED' },
};
const TEXT_CONTEXT = 'CTX-TEXT: use "double quotes" and \'single\' ones\nsecond line\twith a tab';
const AGENTS_MD = '# AGENTS.md\nAGENTS-MD-MARK: this repository uses pnpm';
const TEAM_MD = 'TEAM-MD-MARK: from the user config\'s own instructions';
/** A task text that a careless quoting layer would change: newlines, both quotes, $, backticks, backslashes. */
const TASK_TEXT = 'Fix the "login" bug in src/auth.ts\nIt\'s failing with: `undefined is not a function`\n  - keep $HOME and $(pwd) literal\n  - path C:\\temp\\x and a trailing space ';
const TASK_TITLE = 'kubeopencode/agents/fix-login/0a1b2c3d';

/** Lays out the skills sources the way git-init leaves them: /skills/<source>/<repository files>. */
function layOutSkills(pod: PodSandbox): void {
  const skills = pod.volumeDir('skills');
  writeSkill(path.join(skills, 'team-skills/skills/code-review'), {
    name: 'code-review',
    description: 'Reviews a change against the team rules',
    body: '# Code review\nSKILL-BODY-MARK: check the tests first\n',
  });
  // in the same repository but not in `names`: must not be offered
  writeSkill(path.join(skills, 'team-skills/skills/not-selected'), { name: 'not-selected', description: 'Must not be listed' });
  fs.writeFileSync(path.join(skills, 'team-skills/README.md'), '# team skills\n');
  // a whole repository as a source (no path, no names): nested skills are found
  writeSkill(path.join(skills, 'ops/deploy/rollback'), { name: 'rollback', description: 'Rolls a deployment back' });
}

/** What the repository in the workspace would bring (in the pod: a Git context cloned into the workspace). */
function layOutWorkspace(pod: PodSandbox): void {
  const ws = pod.hostPath('server', '/workspace');
  fs.writeFileSync(path.join(ws, 'AGENTS.md'), AGENTS_MD + '\n');
  fs.writeFileSync(path.join(ws, 'TEAM.md'), TEAM_MD + '\n');
}

/** The init containers the test replaces: git clones of the skills sources (laid out by layOutSkills). */
function gitInits(pod: PodSandbox): string[] {
  return pod.initContainerNames().filter((n) => n.startsWith('git-init'));
}

/** The test's own env for a task container: the binary is the image's (attach: on PATH; template: /tools/opencode). */
function taskEnv(_pod: PodSandbox, extra: Record<string, string | undefined>): Record<string, string | undefined> {
  return extra;
}

/** `opencode run --format json` prints one JSON event per line. */
function events(r: ProcResult): Obj[] {
  return r.stdout.split('\n').filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l));
}

function expectExit0(r: ProcResult, stub: LlmStub): void {
  if (r.code !== 0) throw new Error(`expected exit 0: ${describeResult(r)}\nLLM stub saw: ${stub.summary()}`);
}

let stub: LlmStub;
const sandboxes: PodSandbox[] = [];
const servers: OpencodeServer[] = [];

function sandbox(pod: Obj, configMaps: Record<string, Record<string, string>>, prefix: string): PodSandbox {
  const sb = new PodSandbox(pod, { configMaps, secrets: SECRETS, prefix });
  sandboxes.push(sb);
  return sb;
}

async function startServer(pod: PodSandbox): Promise<OpencodeServer> {
  const s = await startOpencodeServer(pod, { configOverlay: stub.opencodeConfig() });
  servers.push(s);
  return s;
}

beforeAll(async () => {
  ensureOpencode();
  stub = await startLlmStub();
});

afterAll(async () => {
  for (const s of servers) await s.stop().catch(() => undefined);
  await stub?.stop();
  for (const sb of sandboxes) sb.cleanup();
});

describe('Agent: the real opencode serve runs what the construct generates', () => {
  const c = chart('agents');
  new Agent(c, 'e2e', {
    profile: 'e2e agent',
    workspaceDir: '/workspace',
    serviceAccountName: 'kubeopencode-agent',
    persistence: { sessions: { size: '1Gi' } },
    config: JSON.stringify({
      $schema: 'https://opencode.ai/config.json',
      autoupdate: false,
      share: 'disabled',
      instructions: ['TEAM.md'],
    }),
    contexts: [
      { name: 'standards', type: 'Text', text: TEXT_CONTEXT },
      { name: 'team-docs', type: 'ConfigMap', configMap: { name: 'team-docs' } },
      { name: 'runbook', type: 'ConfigMap', configMap: { name: 'runbook', key: 'runbook.md' } },
      { type: 'Runtime' },
      { name: 'mounted-note', type: 'Text', text: 'CTX-MOUNTED: a file, not a prompt', mountPath: 'notes/mounted.md' },
    ],
    skills: [
      { name: 'team-skills', git: { repository: 'https://git.example.com/team/skills.git', path: 'skills', names: ['code-review'] } },
      { name: 'ops', git: { repository: 'https://git.example.com/ops/skills.git' } },
    ],
  });
  const objects = synth(c).objects;
  const a: AgentObjects = agentObjects(objects, 'e2e');
  const configMaps = { ...configMapsOf(objects), ...USER_CONFIGMAPS };

  let pod: PodSandbox;
  let server: OpencodeServer;
  let taskChat: RecordedRequest;

  beforeAll(async () => {
    pod = sandbox(a.serverPod, configMaps, 'koc-e2e-server-');
    layOutSkills(pod);
    layOutWorkspace(pod);
    await pod.runInitContainers({ skip: gitInits(pod) });
    server = await startServer(pod);
  });

  test('the version the library pins is the one under test', async () => {
    expect(installedOpencodeVersion()).toBe(OPENCODE_VERSION);
    const health = await server.getJson('/global/health');
    expect(health).toEqual({ healthy: true, version: OPENCODE_VERSION });
  });

  test('the server runs with exactly the manifest\'s env (plus PATH and the offline switches)', async () => {
    const manifestEnv = (pod.container('server').env as Obj[]).map((e) => e.name);
    expect(manifestEnv).toEqual(expect.arrayContaining(['HOME', 'WORKSPACE_DIR', 'OPENCODE_CONFIG', 'OPENCODE_CONFIG_CONTENT', 'OPENCODE_DB', 'OPENCODE_SERVER_PASSWORD']));
    expect(Object.keys(server.prepared.env).sort()).toEqual([...manifestEnv, 'PATH', ...Object.keys(OFFLINE_ENV)].sort());
    // where opencode says its files are: HOME is the /tmp emptyDir, the project is the workspace
    const paths = await server.getJson('/path');
    expect(paths.home).toBe(pod.hostPath('server', '/tmp'));
    expect(paths.directory).toBe(pod.hostPath('server', '/workspace'));
    // the session DB is on the sessions PVC
    expect(fs.existsSync(path.join(pod.volumeDir('sessions'), 'opencode.db'))).toBe(true);
  });

  test('opencode reads the generated opencode.json (OPENCODE_CONFIG) and OPENCODE_CONFIG_CONTENT together', async () => {
    const cfg = await server.getJson('/config');
    // the user's keys from `config` survive
    expect(cfg).toMatchObject({ autoupdate: false, share: 'disabled' });
    // skills.paths the construct injected: /skills/<source>/<path>/<name> and /skills/<source>
    expect(cfg.skills.paths).toEqual([
      pod.hostPath('server', '/skills/team-skills/skills/code-review'),
      pod.hostPath('server', '/skills/ops'),
    ]);
    // instructions: the user's list and ours (OPENCODE_CONFIG_CONTENT) are concatenated, not replaced
    expect(cfg.instructions).toEqual(['TEAM.md', pod.hostPath('server', '/workspace/.kubeopencode/context.md')]);
    expect(cfg.model).toBe('stub/stub-model');
  });

  test('the agent task pod\'s command (task-run --attach) completes; the task text reaches the model verbatim', async () => {
    stub.reset();
    const task = sandbox(a.taskPod, configMaps, 'koc-e2e-task-');
    const r = await task.run('task', {
      env: taskEnv(pod, { TASK_DESCRIPTION: TASK_TEXT, TASK_SESSION_TITLE: TASK_TITLE, KUBEOPENCODE_SERVER_URL: server.url }),
      timeoutMs: 90_000,
    });
    expectExit0(r, stub);

    const chats = stub.completions().filter((x) => x.kind === 'chat');
    expect(chats).toHaveLength(1);
    taskChat = chats[0];
    expect(taskChat.lastUser).toBe(TASK_TEXT);
    expect(taskChat.headers.authorization).toBe(`Bearer ${STUB_API_KEY}`);
    // --title: the session carries TASK_SESSION_TITLE (so no title request is made) and runs in the workspace
    expect(stub.completions().filter((x) => x.kind === 'title')).toHaveLength(0);
    const sessions: Obj[] = await server.getJson('/session');
    const s = sessions.find((x) => x.title === TASK_TITLE);
    expect(s).toBeDefined();
    expect(s!.directory).toBe(pod.hostPath('server', '/workspace'));
    // the turn's outcome is on the server. (The attached client's --format json stdout is not a record of it: with
    // a fast model it often prints nothing at all, as its event subscription races the turn.)
    const messages: Obj[] = await server.getJson(`/session/${s!.id}/message`);
    const reply = messages.find((m) => m.info.role === 'assistant');
    expect(reply?.info.finish).toBe('stop');
    expect(reply?.parts.find((p: Obj) => p.type === 'text')?.text).toBe(stub.defaultReply);
    for (const e of events(r)) expect(e.sessionID).toBe(s!.id);
  });

  test('AGENTS.md, the config\'s instructions and every context without mountPath reach the system prompt', () => {
    expect(taskChat).toBeDefined();
    const system = taskChat.system;
    const ws = pod.hostPath('server', '/workspace');
    const contextMd = fs.readFileSync(path.join(ws, '.kubeopencode/context.md'), 'utf8');

    expect(system).toContain(`Instructions from: ${ws}/AGENTS.md\n${AGENTS_MD}`);
    expect(system).toContain(`Instructions from: ${ws}/TEAM.md\n${TEAM_MD}`);
    expect(system).toContain(`Instructions from: ${ws}/.kubeopencode/context.md\n${contextMd.trimEnd()}`);
    // AGENTS.md first, then the instructions in config order
    const at = (s: string) => system.indexOf(s);
    expect(at('AGENTS-MD-MARK')).toBeLessThan(at('TEAM-MD-MARK'));
    expect(at('TEAM-MD-MARK')).toBeLessThan(at('<context name="standards"'));

    // each context as its block, in spec order, verbatim
    expect(system).toContain(`<context name="standards" type="Text">\n${TEXT_CONTEXT}\n</context>`);
    expect(system).toContain('<context name="team-docs" type="ConfigMap">\n<file name="a-style.md">\nCTX-CM-DIR-A: prefer small functions\n</file>\n<file name="b-review.md">\nCTX-CM-DIR-B: two approvals\n</file>\n</context>');
    expect(system).toContain('<context name="runbook" type="ConfigMap">\nCTX-CM-KEY: restart with kubectl rollout restart\n</context>');
    expect(system).toContain('<context name="runtime-3" type="Runtime">\n# KubeOpenCode runtime');
    expect(system).toContain('You are the KubeOpenCode Agent "e2e" in namespace "agents"');
    expect(at('<context name="standards"')).toBeLessThan(at('<context name="team-docs"'));
    expect(at('<context name="team-docs"')).toBeLessThan(at('<context name="runbook"'));
    expect(at('<context name="runbook"')).toBeLessThan(at('<context name="runtime-3"'));

    // a context with mountPath is a file in the workspace, not part of the prompt; unused keys stay out
    expect(system).not.toContain('CTX-MOUNTED');
    expect(system).not.toContain('CTX-CM-UNUSED');
    expect(fs.readFileSync(path.join(ws, 'notes/mounted.md'), 'utf8')).toBe('CTX-MOUNTED: a file, not a prompt');
  });

  test('skills from the skills sources are discovered through the injected skills.paths', async () => {
    const skills: Obj[] = await server.getJson('/skill');
    const byName = Object.fromEntries(skills.map((s) => [s.name, s]));
    expect(byName['code-review']).toMatchObject({
      description: 'Reviews a change against the team rules',
      location: pod.hostPath('server', '/skills/team-skills/skills/code-review/SKILL.md'),
    });
    expect(byName.rollback?.location).toBe(pod.hostPath('server', '/skills/ops/deploy/rollback/SKILL.md'));
    // `names` selects: a sibling skill of the same repository is not offered
    expect(byName['not-selected']).toBeUndefined();

    // offered to the model in the system prompt
    const available = /<available_skills>([\s\S]*)<\/available_skills>/.exec(taskChat.system)?.[1] ?? '';
    expect(available).toContain('<name>code-review</name>');
    expect(available).toContain('<name>rollback</name>');
    expect(available).not.toContain('not-selected');
    expect(taskChat.body.tools.map((t: Obj) => t.function.name)).toContain('skill');
  });

  test('the model can load a skill with the skill tool (read-only /skills mount, ripgrep on PATH)', async () => {
    stub.reset();
    const created = await server.request('/session', { method: 'POST', body: { title: 'skill-tool' } });
    expect(created.status).toBe(200);
    const id = created.json().id;
    const r = await server.request(`/session/${id}/message`, {
      method: 'POST',
      body: { parts: [{ type: 'text', text: 'TOOL:skill {"name":"code-review"}' }] },
      timeoutMs: 90_000,
    });
    expect(r.status).toBe(200);
    const toolResult = stub.requests.find((x) => x.kind === 'chat' && x.lastRole === 'tool');
    expect(toolResult).toBeDefined();
    const toolMessage = toolResult!.body.messages[toolResult!.body.messages.length - 1];
    expect(toolMessage.content).toContain('<skill_content name="code-review">');
    expect(toolMessage.content).toContain('SKILL-BODY-MARK: check the tests first');
  });

  test('secure by default: without the password the server answers 401 and a task cannot attach', async () => {
    for (const p of ['/global/health', '/session', '/config', '/doc']) {
      const r = await server.request(p, { auth: false });
      expect([p, r.status]).toEqual([p, 401]);
      expect(r.headers['www-authenticate']).toMatch(/^Basic/);
    }
    expect((await server.request('/session', { auth: basicAuth('wrong') })).status).toBe(401);
    expect((await server.request('/session', { auth: basicAuth(PASSWORD, 'admin') })).status).toBe(401);
    expect((await server.request('/session', { auth: basicAuth(PASSWORD) })).status).toBe(200);

    // the task pod gets the password from the Secret; without it, attaching fails (opencode says "Session not found")
    const taskEnvVar = (a.taskPod.containers[0].env as Obj[]).find((e) => e.name === 'OPENCODE_SERVER_PASSWORD');
    expect(taskEnvVar?.valueFrom).toEqual({ secretKeyRef: { name: 'e2e-server-auth', key: 'password' } });
    stub.reset();
    const task = sandbox(a.taskPod, configMaps, 'koc-e2e-task-');
    const r = await task.run('task', {
      env: taskEnv(pod, { TASK_DESCRIPTION: 'must not arrive', KUBEOPENCODE_SERVER_URL: server.url, OPENCODE_SERVER_PASSWORD: undefined }),
      timeoutMs: 90_000,
    });
    expect(r.code).not.toBe(0);
    expect(stub.chatsWith('must not arrive')).toHaveLength(0);
  });

  test('stopping a Task: killing the task pod leaves the session running; POST /session/:id/abort cancels the model call', async () => {
    stub.reset();
    const task = sandbox(a.taskPod, configMaps, 'koc-e2e-task-');
    const title = 'kubeopencode/agents/hangs/deadbeef';
    const p = task.start('task', {
      env: taskEnv(pod, { TASK_DESCRIPTION: 'STUB:HANG until stopped', TASK_SESSION_TITLE: title, KUBEOPENCODE_SERVER_URL: server.url }),
      timeoutMs: 90_000,
    });
    const hung = await stub.waitFor((x) => x.action?.type === 'hang', 60_000, 'the hanging model call');
    await p.stop(2000);
    const session = (await server.getJson('/session') as Obj[]).find((x) => x.title === title);
    expect(session).toBeDefined();
    await new Promise((r) => setTimeout(r, 1000));
    // opencode 1.18: the attached client going away does not stop the turn on the server
    expect(hung.cancelled).toBe(false);
    expect((await server.getJson('/session/status'))[session!.id]).toEqual({ type: 'busy' });

    const abort = await server.request(`/session/${session!.id}/abort`, { method: 'POST' });
    expect(abort.status).toBe(200);
    await stub.waitFor((x) => x === hung && x.cancelled, 10_000, 'the model call to be cancelled');
    expect((await server.getJson('/session/status'))[session!.id]).toBeUndefined();
  });

  // `opencode run --attach` exits 0 when the model call fails (and its --format json stdout races the turn), so the
  // attach pod's exit code cannot be trusted: the controller reads the session's outcome from the server instead
  // (test/e2e/controller-session.test.ts). Standalone `opencode run` (template Tasks) does exit non-zero.
  test('session persistence: a new pod with the same sessions PVC (OPENCODE_DB) still lists the earlier sessions', async () => {
    await server.stop();
    pod.recreate(); // emptyDirs (workspace, /tmp, skills) are new; the sessions PVC stays
    expect(fs.existsSync(path.join(pod.hostPath('server', '/workspace'), '.kubeopencode'))).toBe(false);
    layOutSkills(pod);
    layOutWorkspace(pod);
    await pod.runInitContainers({ skip: gitInits(pod) });
    server = await startServer(pod);

    const sessions: Obj[] = await server.getJson('/session');
    const s = sessions.find((x) => x.title === TASK_TITLE);
    expect(s).toBeDefined();
    const messages: Obj[] = await server.getJson(`/session/${s!.id}/message`);
    const user = messages.find((m) => m.info.role === 'user');
    expect(user?.parts.find((p: Obj) => p.type === 'text')?.text).toBe(TASK_TEXT);
    expect(messages.find((m) => m.info.role === 'assistant')?.info.finish).toBe('stop');
  });
});

describe('template Tasks: opencode run without a server', () => {
  test('task-run without KUBEOPENCODE_SERVER_URL, in the Agent server container\'s environment', async () => {
    const c = chart('agents');
    new Agent(c, 'e2e', {
      workspaceDir: '/workspace',
      serviceAccountName: 'kubeopencode-agent',
      config: JSON.stringify({ share: 'disabled' }),
      contexts: [{ name: 'standards', type: 'Text', text: TEXT_CONTEXT }],
    });
    const objects = synth(c).objects;
    const a = agentObjects(objects, 'e2e');
    const pod = sandbox(a.serverPod, configMapsOf(objects), 'koc-e2e-standalone-');
    await pod.runInitContainers();
    pod.mergeOpencodeConfig('server', stub.opencodeConfig());
    stub.reset();
    const r = await pod.run('server', {
      command: a.taskPod.containers[0].command,
      // as a template task pod sets it: the executor image has no opencode of its own
      env: taskEnv(pod, { OPENCODE_BIN: pod.hostPath('server', '/tools/opencode'), TASK_DESCRIPTION: TASK_TEXT, TASK_SESSION_TITLE: 'kubeopencode/agents/standalone/11111111' }),
      timeoutMs: 45_000,
    });
    expectExit0(r, stub);
    const chat = stub.chatsWith('Fix the "login" bug');
    expect(chat).toHaveLength(1);
    expect(chat[0].lastUser).toBe(TASK_TEXT);
    expect(chat[0].system).toContain(`<context name="standards" type="Text">\n${TEXT_CONTEXT}\n</context>`);
    // standalone, the JSON events on stdout are complete
    const ev = events(r);
    expect(ev.map((e) => e.type)).toEqual(['step_start', 'text', 'step_finish']);
    expect(ev[1].part.text).toBe(stub.defaultReply);

    // and a failed model call fails the pod (unlike --attach, see below)
    stub.script('STUB-RULE-400', { type: 'fail', status: 400, message: 'model does not exist' });
    const failed = await pod.run('server', {
      command: a.taskPod.containers[0].command,
      env: taskEnv(pod, { OPENCODE_BIN: pod.hostPath('server', '/tools/opencode'), TASK_DESCRIPTION: 'STUB-RULE-400', TASK_SESSION_TITLE: 'kubeopencode/agents/standalone-fails/33333333' }),
      timeoutMs: 45_000,
    });
    expect(failed.timedOut).toBe(false);
    expect(failed.code).toBe(1);
    expect(events(failed).map((e) => e.type)).toEqual(['error']);
  });

  test('an AgentTemplate\'s task pod (PodTemplate {name}-task) runs the task to completion', async () => {
    const c = chart('agents');
    new AgentTemplate(c, 'tmpl', {
      workspaceDir: '/workspace',
      serviceAccountName: 'kubeopencode-agent',
      config: JSON.stringify({ share: 'disabled' }),
      contexts: [{ name: 'standards', type: 'Text', text: TEXT_CONTEXT }, { type: 'Runtime' }],
    });
    const objects = synth(c).objects;
    const tpl = objects.find((o) => o.kind === 'PodTemplate' && o.metadata.name === NAMES.templateTaskPodTemplate('tmpl'));
    expect(tpl).toBeDefined();
    const pod = sandbox(tpl!.template.spec, configMapsOf(objects), 'koc-e2e-template-');
    await pod.runInitContainers();
    pod.mergeOpencodeConfig('task', stub.opencodeConfig());
    stub.reset();
    // what the controller adds to the task pod
    const r = await pod.run('task', {
      env: { TASK_DESCRIPTION: TASK_TEXT, TASK_SESSION_TITLE: 'kubeopencode/agents/template-task/22222222' },
      timeoutMs: 45_000,
    });
    expectExit0(r, stub);
    const chat = stub.chatsWith('Fix the "login" bug');
    expect(chat).toHaveLength(1);
    expect(chat[0].lastUser).toBe(TASK_TEXT);
    expect(chat[0].system).toContain(`<context name="standards" type="Text">\n${TEXT_CONTEXT}\n</context>`);
    expect(chat[0].system).toContain('ephemeral KubeOpenCode Task from the AgentTemplate "tmpl"');
  });
});

describe('Agent: a repository checked out below the workspace still brings its AGENTS.md', () => {
  const c = chart('agents');
  new Agent(c, 'subdir', {
    workspaceDir: '/workspace',
    serviceAccountName: 'kubeopencode-agent',
    contexts: [{ name: 'codebase', type: 'Git', git: { repository: 'https://git.example.com/org/repo.git', ref: 'main' }, mountPath: 'code' }],
  });
  const objects = synth(c).objects;
  const a: AgentObjects = agentObjects(objects, 'subdir');
  const configMaps = configMapsOf(objects);

  test('the server runs in workspaceDir (not a Git worktree); the repository\'s AGENTS.md reaches the prompt', async () => {
    const pod = sandbox(a.serverPod, configMaps, 'koc-e2e-subdir-');
    // what git-init leaves: the repository at /workspace/code
    const repo = pod.hostPath('server', '/workspace/code');
    fs.mkdirSync(repo, { recursive: true });
    fs.writeFileSync(path.join(repo, 'AGENTS.md'), '# AGENTS.md\nSUBDIR-AGENTS-MARK: run make lint\n');
    await pod.runInitContainers({ skip: gitInits(pod) });
    const server = await startServer(pod);
    stub.reset();
    const task = sandbox(a.taskPod, configMaps, 'koc-e2e-subdir-task-');
    const r = await task.run('task', {
      env: taskEnv(pod, { TASK_DESCRIPTION: 'what should I run before committing?', TASK_SESSION_TITLE: 'kubeopencode/agents/subdir/00000000', KUBEOPENCODE_SERVER_URL: server.url }),
      timeoutMs: 90_000,
    });
    expectExit0(r, stub);
    const chat = stub.completions().find((x) => x.kind === 'chat')!;
    expect(chat.system).toContain(`Instructions from: ${repo}/AGENTS.md\n# AGENTS.md\nSUBDIR-AGENTS-MARK: run make lint`);
  });
});
