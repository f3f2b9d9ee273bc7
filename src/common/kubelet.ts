/**
 * The kubelet expands `$(NAME)` in command, args and env values and turns `$$` into `$`. Text we emit there must reach
 * the container unchanged (a script's `$$`, a task text with `$(HOME)`): every `$` is doubled, which the kubelet undoes.
 * Used by the pod builders at synth and by the controller for the task pod's env.
 */
export function kubeletLiteral(text: string): string {
  return text.replace(/\$/g, '$$$$');
}
