import { Environment } from '../api';

const SCALARS = [
  'agentImage',
  'executorImage',
  'attachImage',
  'workspaceDir',
  'serviceAccountName',
  'caBundle',
  'proxy',
  'podSpec',
  'config',
] as const;
const LISTS = ['contexts', 'credentials', 'imagePullSecrets', 'skills'] as const;

/** Compiles only when T is `never`; otherwise tsc names what is left: `Type '"newField"' does not satisfy the constraint 'never'`. */
export type NothingLeft<T extends never> = T;

/**
 * Every AgentTemplate spec field is merged one way or the other: a field added to the CRD (and so to `Environment`)
 * that is in neither list above fails the build here, instead of being dropped silently from every merged Agent.
 */
export type MergeCoversEnvironment = NothingLeft<Exclude<keyof Environment, typeof SCALARS[number] | typeof LISTS[number]>>;

/** T with every key present (its value may be undefined): an object literal of this type that leaves a key out fails tsc. */
export type EveryKey<T> = { readonly [K in keyof Required<T>]: T[K] | undefined };

/**
 * The guide's merge rules for an Agent with a templateRef: a scalar field the Agent sets wins, otherwise the template's;
 * a list field the Agent sets replaces the template's (not appended). Agent-only fields never come from a template.
 */
export function mergeTemplate(template: Environment, agent: Environment): Environment {
  const out: Record<string, unknown> = {};
  for (const k of SCALARS) out[k] = agent[k] ?? template[k];
  for (const k of LISTS) out[k] = agent[k] !== undefined ? agent[k] : template[k];
  return out as Environment;
}
