/**
 * Shell completion generated from the command tree: command words, flags, and resource names (from
 * `kubeoc get <kind> -o name` in the namespace given with -n) where a verb takes an Agent, Task or CronTask.
 * zsh uses the same function through bashcompinit.
 */
import type { Command } from './main';

interface Entry {
  readonly path: string;
  readonly words: string[];
  readonly completes?: string;
}

function entries(c: Command, path: string[], acc: Entry[] = []): Entry[] {
  const flags = Object.entries(c.options ?? {}).flatMap(([name, o]) => [`--${name}`, ...(o.short ? [`-${o.short}`] : [])]);
  acc.push({ path: path.join(' '), words: [...(c.subcommands ?? []).map((s) => s.name), ...flags, '--namespace', '-n', '--kubeconfig', '--context', '--help'], completes: c.completes });
  for (const s of c.subcommands ?? []) entries(s, [...path, s.name], acc);
  return acc;
}

export function completionScript(root: Command, shell: 'bash' | 'zsh'): string {
  const cases = entries(root, []).map((e) => {
    const names = e.completes ? `\n      if [[ $cur != -* ]]; then COMPREPLY+=( $(compgen -W "$(kubeoc get ${e.completes} -o name $ns 2>/dev/null)" -- "$cur") ); fi` : '';
    return `    "${e.path}")\n      COMPREPLY=( $(compgen -W "${e.words.join(' ')}" -- "$cur") )${names}\n      ;;`;
  }).join('\n');
  const fn = `_kubeoc() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" words_typed="" ns="" i w
  COMPREPLY=()
  # the command words typed so far (flags and their values skipped); -n/--namespace is kept for name completion.
  # (not named "path": in zsh that is PATH)
  for (( i = 1; i < COMP_CWORD; i++ )); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      -n|--namespace) ns="-n \${COMP_WORDS[i+1]}"; (( i++ ));;
      --kubeconfig|--context|-o|--output|--local-port|--opencode) (( i++ ));;
      -*) ;;
      *) if [[ -z $words_typed ]]; then words_typed="$w"; else words_typed="$words_typed $w"; fi;;
    esac
  done
  case "$words_typed" in
${cases}
  esac
  # a resource name was already given: stop offering command words
  return 0
}
`;
  if (shell === 'bash') return `# bash completion for kubeoc (source <(kubeoc completion bash))\n${fn}complete -F _kubeoc kubeoc\n`;
  return `#compdef kubeoc\n# zsh completion for kubeoc (kubeoc completion zsh > "\${fpath[1]}/_kubeoc"), through bashcompinit\nautoload -U +X bashcompinit && bashcompinit\n${fn}complete -F _kubeoc kubeoc\n`;
}
