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
