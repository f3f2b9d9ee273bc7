/**
 * kubeoc: the KubeOpenCode CLI (a bin of this package). Verbs and flags follow upstream's kubeoc where they exist:
 * `get agents|tasks|crontasks`, `agent attach|suspend|resume`, `task stop|logs`, `crontask trigger|suspend|resume`,
 * `completion bash|zsh`, `version`.
 *
 * Arguments are parsed with node:util parseArgs against the command tree below, which is also the source of every
 * --help text and of the shell completion scripts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs, type ParseArgsConfig } from 'util';
import { attach } from './attach';
import { completionScript } from './completion';
import { KubeClient } from './kube';
import { Io, KindName, OutputFormat, get, setSuspend, stopTask, taskLogs, triggerCronTask } from './verbs';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | undefined>;

export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Positional arguments, e.g. '<agent>'. */
  readonly args?: string;
  readonly options?: Options;
  /** Help text for options: name → description. */
  readonly optionHelp?: Record<string, string>;
  readonly examples?: readonly string[];
  readonly subcommands?: readonly Command[];
  /** Which resource names complete the first argument (completion). */
  readonly completes?: KindName;
  readonly run?: (ctx: RunContext) => Promise<number>;
}

interface RunContext {
  readonly io: Io;
  readonly values: Values;
  readonly positionals: string[];
  readonly client: () => KubeClient;
  readonly namespace: () => string;
}

const GLOBAL_OPTIONS: Options = {
  'kubeconfig': { type: 'string' },
  'context': { type: 'string' },
  'namespace': { type: 'string', short: 'n' },
  'help': { type: 'boolean', short: 'h' },
};
const GLOBAL_HELP: Record<string, string> = {
  'kubeconfig': 'path of the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)',
  'context': 'kubeconfig context to use (default: the current context)',
  'namespace': 'namespace (default: the context\'s namespace, else "default")',
  'help': 'help for this command',
};

const GET_OPTIONS: Options = {
  'all-namespaces': { type: 'boolean', short: 'A' },
  'output': { type: 'string', short: 'o' },
};
const GET_HELP = { 'all-namespaces': 'list across all namespaces', 'output': 'output format: wide, json, yaml or name (default: a table)' };

const one = (ctx: RunContext, what: string): string => {
  if (ctx.positionals.length !== 1) throw new UsageError(`expected exactly one ${what} name, got ${ctx.positionals.length}`);
  return ctx.positionals[0];
};

function getCommand(kind: KindName, summary: string): Command {
  return {
    name: kind,
    summary,
    options: GET_OPTIONS,
    optionHelp: GET_HELP,
    examples: [`kubeoc get ${kind}`, `kubeoc get ${kind} -n team -o wide`, `kubeoc get ${kind} -A`],
    run: (ctx) => {
      if (ctx.positionals.length) throw new UsageError(`get ${kind} takes no arguments (got ${ctx.positionals.join(' ')})`);
      const output = (ctx.values.output as string | undefined) ?? 'table';
      if (!['table', 'wide', 'json', 'yaml', 'name'].includes(output)) throw new UsageError(`--output ${output}: allowed are wide, json, yaml, name`);
      const all = ctx.values['all-namespaces'] === true;
      return get(ctx.client(), ctx.io, kind, { all, namespace: all ? undefined : ctx.namespace(), output: output as OutputFormat });
    },
  };
}

function suspendCommand(plural: 'agents' | 'crontasks', suspend: boolean): Command {
  const kind = plural === 'agents' ? 'agent' : 'crontask';
  return {
    name: suspend ? 'suspend' : 'resume',
    summary: suspend
      ? (kind === 'agent' ? 'Suspend an Agent: its server scales to 0 (PVCs and Service stay); Tasks queue until it resumes' : 'Suspend a CronTask: no scheduled runs until it resumes')
      : (kind === 'agent' ? 'Resume a suspended Agent: its server scales back to 1 and queued Tasks start' : 'Resume a suspended CronTask'),
    args: `<${kind}>`,
    completes: plural,
    examples: [`kubeoc ${kind} ${suspend ? 'suspend' : 'resume'} my-${kind} -n team`],
    run: (ctx) => setSuspend(ctx.client(), ctx.io, plural, ctx.namespace(), one(ctx, kind), suspend),
  };
}

export const ROOT: Command = {
  name: 'kubeoc',
  summary: 'The KubeOpenCode CLI: attach to live Agents, list and steer Agents, Tasks and CronTasks',
  subcommands: [
    {
      name: 'get',
      summary: 'List Agents, Tasks or CronTasks (kubectl-like columns)',
      subcommands: [
        getCommand('agents', 'List Agents: status (Ready, NotReady, Suspended) and whether someone is attached'),
        getCommand('tasks', 'List Tasks: phase, Agent or template, and the reason a Task waits, stopped or failed'),
        getCommand('crontasks', 'List CronTasks: schedule, suspend, active Tasks, last run'),
      ],
    },
    {
      name: 'agent',
      summary: 'Work with Agents',
      subcommands: [
        {
          name: 'attach',
          summary: 'Open the OpenCode TUI on an Agent\'s server, through the API server\'s service proxy',
          args: '<agent> [-- <opencode attach flags>]',
          completes: 'agents',
          options: { 'local-port': { type: 'string' }, 'opencode': { type: 'string' } },
          optionHelp: {
            'local-port': 'port of the local listener on 127.0.0.1; 0 picks a free one (default: the Agent\'s port, 4096)',
            'opencode': 'the opencode binary to run (default: opencode from PATH)',
          },
          examples: ['kubeoc agent attach team-agent -n kubeopencode-system', 'kubeoc agent attach team-agent --local-port 5000'],
          run: (ctx) => {
            const [agent, ...extraArgs] = ctx.positionals;
            if (!agent) throw new UsageError('expected the agent name');
            const lp = ctx.values['local-port'] as string | undefined;
            if (lp !== undefined && !/^\d{1,5}$/.test(lp)) throw new UsageError(`--local-port ${lp}: a port number 0-65535`);
            return attach(ctx.client(), ctx.io, {
              namespace: ctx.namespace(), agent, extraArgs,
              localPort: lp === undefined ? undefined : Number(lp),
              opencode: ctx.values.opencode as string | undefined,
            });
          },
        },
        suspendCommand('agents', true),
        suspendCommand('agents', false),
      ],
    },
    {
      name: 'task',
      summary: 'Work with Tasks',
      subcommands: [
        {
          name: 'stop',
          summary: 'Stop a Task (annotation kubeopencode.io/stop=true): its pod ends, its session is aborted, phase Completed/UserStopped',
          args: '<task>',
          completes: 'tasks',
          examples: ['kubeoc task stop fix-login-bug -n team'],
          run: (ctx) => stopTask(ctx.client(), ctx.io, ctx.namespace(), one(ctx, 'task')),
        },
        {
          name: 'logs',
          summary: 'Print the logs of a Task\'s pod',
          args: '<task>',
          completes: 'tasks',
          options: { follow: { type: 'boolean', short: 'f' } },
          optionHelp: { follow: 'stream the logs until the pod ends' },
          examples: ['kubeoc task logs fix-login-bug -n team -f'],
          run: (ctx) => taskLogs(ctx.client(), ctx.io, ctx.namespace(), one(ctx, 'task'), ctx.values.follow === true),
        },
      ],
    },
    {
      name: 'crontask',
      summary: 'Work with CronTasks',
      subcommands: [
        {
          name: 'trigger',
          summary: 'Run a CronTask now (annotation kubeopencode.io/trigger=true), whatever its schedule',
          args: '<crontask>',
          completes: 'crontasks',
          examples: ['kubeoc crontask trigger daily-vuln-scan -n security'],
          run: (ctx) => triggerCronTask(ctx.client(), ctx.io, ctx.namespace(), one(ctx, 'crontask')),
        },
        suspendCommand('crontasks', true),
        suspendCommand('crontasks', false),
      ],
    },
    {
      name: 'completion',
      summary: 'Print a shell completion script (bash or zsh)',
      args: 'bash|zsh',
      examples: ['source <(kubeoc completion bash)', 'kubeoc completion zsh > "${fpath[1]}/_kubeoc"'],
      run: async (ctx) => {
        const shell = ctx.positionals[0];
        if (ctx.positionals.length !== 1 || (shell !== 'bash' && shell !== 'zsh')) throw new UsageError('expected bash or zsh');
        ctx.io.out.write(completionScript(ROOT, shell));
        return 0;
      },
    },
    {
      name: 'version',
      summary: 'Print the version of kubeoc',
      run: async (ctx) => {
        ctx.io.out.write(`kubeoc ${packageVersion()}\n`);
        return 0;
      },
    },
  ],
};

export class UsageError extends Error {}

function packageVersion(): string {
  for (const dir of [path.join(__dirname, '..', '..'), path.join(__dirname, '..', '..', '..')]) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')).version;
  }
  return 'unknown';
}

/** Every option of the tree, for the first (lenient) pass that only finds the command. */
function allOptions(c: Command, acc: Options = { ...GLOBAL_OPTIONS }): Options {
  Object.assign(acc, c.options ?? {});
  for (const s of c.subcommands ?? []) allOptions(s, acc);
  return acc;
}

/** The command the leading positionals name, and the words that named it. */
function findCommand(positionals: string[]): { command: Command; path: string[] } {
  let command = ROOT;
  const used: string[] = [];
  for (const word of positionals) {
    const next = command.subcommands?.find((s) => s.name === word);
    if (!next) break;
    command = next;
    used.push(word);
  }
  return { command, path: used };
}

export function helpText(command: Command, words: string[]): string {
  const full = ['kubeoc', ...words].join(' ');
  const lines = [command.summary, '', 'Usage:'];
  if (command.subcommands) lines.push(`  ${full} <command> [flags]`);
  else lines.push(`  ${full}${command.args ? ` ${command.args}` : ''} [flags]`);
  if (command.subcommands) {
    lines.push('', 'Commands:');
    const w = Math.max(...command.subcommands.map((s) => s.name.length));
    for (const s of command.subcommands) lines.push(`  ${s.name.padEnd(w + 2)}${s.summary}`);
  }
  const flags = (opts: Options, help: Record<string, string>) => Object.entries(opts).map(([name, o]) => {
    const spelled = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ' <value>' : ''}`;
    return [spelled, help[name] ?? ''];
  });
  const own = flags(command.options ?? {}, command.optionHelp ?? {});
  const global = flags(GLOBAL_OPTIONS, GLOBAL_HELP);
  const w = Math.max(...[...own, ...global].map(([s]) => s.length));
  if (own.length) lines.push('', 'Flags:', ...own.map(([s, h]) => `  ${s.padEnd(w + 2)}${h}`));
  lines.push('', 'Global flags:', ...global.map(([s, h]) => `  ${s.padEnd(w + 2)}${h}`));
  if (command.examples?.length) lines.push('', 'Examples:', ...command.examples.map((e) => `  ${e}`));
  if (command.subcommands) lines.push('', `Run '${full} <command> --help' for more about a command.`);
  return lines.join('\n') + '\n';
}

/** Runs kubeoc with `argv` (without node and script); resolves with the exit status. */
export async function main(argv: string[], io: Io = { out: process.stdout, err: process.stderr }): Promise<number> {
  let words: string[] = [];
  try {
    const loose = parseArgs({ args: argv, options: allOptions(ROOT), strict: false, allowPositionals: true });
    const { command, path: found } = findCommand(loose.positionals.filter((p) => typeof p === 'string'));
    words = found;
    const parsed = parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...command.options }, strict: true, allowPositionals: true });
    const values = parsed.values as Values;
    if (values.help) {
      io.out.write(helpText(command, words));
      return 0;
    }
    // the command words come first among the positionals (options may sit anywhere)
    const positionals = parsed.positionals.slice(words.length);
    if (!command.run) {
      const unknown = positionals[0];
      io.err.write((unknown ? `kubeoc: unknown command "${unknown}" for "${['kubeoc', ...words].join(' ')}"\n\n` : '') + helpText(command, words));
      return 2;
    }
    let client: KubeClient | undefined;
    const getClient = () => (client ??= new KubeClient({ kubeconfig: values.kubeconfig as string | undefined, context: values.context as string | undefined }));
    return await command.run({
      io, values, positionals,
      client: getClient,
      namespace: () => (values.namespace as string | undefined) ?? getClient().defaultNamespace,
    });
  } catch (e) {
    const err = e as Error & { code?: string };
    if (e instanceof UsageError || err.code?.startsWith('ERR_PARSE_ARGS')) {
      io.err.write(`kubeoc ${words.join(' ')}: ${err.message}\nRun 'kubeoc ${[...words, '--help'].join(' ')}' for usage.\n`.replace('kubeoc :', 'kubeoc:'));
      return 2;
    }
    io.err.write(`kubeoc: ${err.message}\n`);
    return 1;
  }
}
