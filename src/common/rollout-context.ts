/**
 * One entry of the server Deployment's `kubeopencode.io/git-rollout` annotation (a JSON list): a Git context with the
 * Rollout sync policy. The Agent construct writes it; the controller's Git rollout reads it.
 */
export interface RolloutContext {
  readonly name: string;
  readonly repository: string;
  readonly ref: string;
  /** Go duration. */
  readonly interval: string;
  /** Name of a Secret in the Agent's namespace (keys username, password). */
  readonly secretRef?: string;
}
