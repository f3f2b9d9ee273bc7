/**
 * The label sets, in one place: which labels each kind of object carries, and the selectors that find them. The
 * constructs (at synth) and the controller (at run time) build their labels from these, so a selector and the
 * objects it must match cannot drift apart.
 */
import { CONTROLLER } from './controller-env';
import { LABELS, MANAGED_BY } from './names';

/** app.kubernetes.io/name of everything the library makes. */
export const APP_NAME = 'kubeopencode';

export const LABEL_SETS = {
  /** An Agent's server and task pods and the objects made with them. */
  agent: (agent: string, component: 'server' | 'task'): Record<string, string> => ({
    [LABELS.name]: APP_NAME,
    [LABELS.instance]: agent,
    [LABELS.component]: component,
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.agent]: agent,
  }),
  /** What selects an Agent's server or task pods. */
  agentSelector: (agent: string, component: 'server' | 'task'): Record<string, string> => ({ [LABELS.agent]: agent, [LABELS.component]: component }),
  /** An Agent's RBAC objects: only the labels that find them (they are not part of the server). */
  agentRbac: (agent: string): Record<string, string> => ({ [LABELS.managedBy]: MANAGED_BY, [LABELS.agent]: agent }),
  /** An AgentTemplate and the objects made with it. */
  agentTemplate: (template: string): Record<string, string> => ({
    [LABELS.name]: APP_NAME,
    [LABELS.instance]: template,
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.agentTemplate]: template,
  }),
  /** The task pods of an AgentTemplate's Tasks (on top of the template's podSpec labels). */
  agentTemplateTaskPod: (template: string): Record<string, string> => ({
    [LABELS.name]: APP_NAME,
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.agentTemplate]: template,
    [LABELS.component]: 'task',
  }),
  /** A CronTask and its CronJob. */
  cronTask: (cronTask: string): Record<string, string> => ({
    [LABELS.name]: APP_NAME,
    [LABELS.instance]: cronTask,
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.cronTask]: cronTask,
  }),
  /** The controller's installation (Deployment, ServiceAccount, RBAC, metrics Service). */
  controller: (): Record<string, string> => ({ [LABELS.name]: APP_NAME, [LABELS.component]: 'controller', [LABELS.managedBy]: MANAGED_BY }),
  /** What selects the controller's pods (its Deployment, metrics Service, and the Agents' NetworkPolicies). */
  controllerSelector: (): Record<string, string> => ({ [LABELS.name]: APP_NAME, [LABELS.component]: 'controller' }),
  /** The shared scripts ConfigMap. */
  scripts: (): Record<string, string> => ({ [LABELS.name]: APP_NAME, [LABELS.component]: 'scripts', [LABELS.managedBy]: MANAGED_BY }),
  /** The server password Secret the controller creates for an Agent. */
  serverAuthSecret: (agent: string): Record<string, string> => ({ [LABELS.agent]: agent, [LABELS.managedBy]: CONTROLLER.name }),
} as const;

/** Label selectors (the `labelSelector` query) the controller watches and lists with. */
export const SELECTORS = {
  /** Every task pod (their Task is the label's value). */
  taskPods: LABELS.task,
  /** The Agents' server Deployments. */
  serverDeployments: `${LABELS.component}=server`,
  /** The task PodTemplates the constructs synthesize. */
  taskPodTemplates: `${LABELS.component}=task`,
  /** A CronTask's child Tasks. */
  cronTaskChildren: (cronTask: string): string => `${LABELS.cronTask}=${cronTask}`,
} as const;
