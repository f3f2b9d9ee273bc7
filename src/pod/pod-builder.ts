import { k8s } from 'cdk8s-plus-28';
import { ENV, Environment, IMAGES, PATHS } from '../api';
import { caBundleWiring } from './ca-bundle';
import { planContexts, resolveMountPath } from './contexts';
import { credentialWiring } from './credentials';
import { renderOpencodeConfig } from './opencode-config';
import { proxyEnv } from './proxy';
import { containerSecurityContext, podSecurityContext, resourceRequirements, systemSecurityContext } from './security';
import { planSkills } from './skills';
import {
  GENERATED_VOLUME,
  SystemBase,
  SystemImages,
  TMP_VOLUME,
  TOOLS_VOLUME,
  WORKSPACE_VOLUME,
  kubeletLiteral,
  resolveSystemImages,
  tmpMount,
} from './system';

export interface AgentPodInput {
  /** The merged execution environment (template + agent + cluster proxy). */
  readonly environment: Environment;
  /** Parsed `config`. */
  readonly opencodeConfig?: Record<string, unknown>;
  readonly systemImages?: SystemImages;
  /** Name of the ConfigMap the caller creates from `generated`. */
  readonly generatedConfigMap: string;
  /** Renders the Runtime context's text. */
  readonly runtimeText: () => string;
  /** The workspace volume: an emptyDir unless the caller passes a PVC. */
  readonly workspaceVolume?: k8s.Volume;
}

/** The opencode container, minus what the mode decides (command, ports, probes). */
export interface MainContainerSpec {
  readonly name: string;
  readonly command: string[];
  readonly env?: k8s.EnvVar[];
  readonly mounts?: k8s.VolumeMount[];
  readonly ports?: k8s.ContainerPort[];
  readonly startupProbe?: k8s.Probe;
  readonly readinessProbe?: k8s.Probe;
  readonly livenessProbe?: k8s.Probe;
}

export interface AgentPod {
  readonly spec: k8s.PodSpec;
  /** Files for the generated ConfigMap: opencode.json and the Text/Runtime contexts. */
  readonly generated: Record<string, string>;
  /** The opencode binary to run: /tools/opencode when agentImage provides it, else `opencode` on the PATH. */
  readonly opencode: string;
}

/**
 * Builds the pod of an Agent's server or of a template Task: everything that must exist before opencode starts
 * (contexts, skills, CA bundle, proxy, credentials, restricted security, pull secrets) plus the main container.
 */
export function buildAgentPod(input: AgentPodInput, main: (opencode: string) => MainContainerSpec): AgentPod {
  const e = input.environment;
  const ws = e.workspaceDir!;
  const ca = caBundleWiring(e.caBundle);
  const securityContext = containerSecurityContext(e.podSpec);
  const proxy = proxyEnv(e.proxy);
  const base: SystemBase = {
    images: resolveSystemImages(input.systemImages),
    // HOME: the script containers run as a uid their image does not know (HOME would be /)
    env: [{ name: 'HOME', value: PATHS.tmp }, ...proxy, ...(ca ? [ca.env] : [])],
    mounts: [tmpMount, ...(ca ? [ca.mount] : [])],
    securityContext: systemSecurityContext(e.podSpec),
    workspaceDir: ws,
  };

  const contexts = planContexts({
    contexts: e.contexts ?? [],
    base,
    runtimeText: input.runtimeText,
    generatedVolume: GENERATED_VOLUME,
  });
  const skills = planSkills(e.skills ?? [], base);
  const credentials = credentialWiring(e.credentials);
  const opencodeJson = renderOpencodeConfig(input.opencodeConfig, skills.paths);
  const generated: Record<string, string> = { ...contexts.generated };
  if (opencodeJson) generated['opencode.json'] = opencodeJson;

  // agentImage, when given, supplies the binary: copied into /tools so the executor image need not have it
  const initContainers: k8s.Container[] = [];
  const volumes: k8s.Volume[] = [];
  let opencode = 'opencode';
  const mainMounts: k8s.VolumeMount[] = [];
  if (e.agentImage) {
    opencode = PATHS.opencodeBinary;
    volumes.push({ name: TOOLS_VOLUME, emptyDir: {} });
    mainMounts.push({ name: TOOLS_VOLUME, mountPath: PATHS.toolsDir, readOnly: true });
    initContainers.push({
      name: 'opencode-init',
      image: e.agentImage,
      command: ['/bin/sh', '-c', kubeletLiteral(`cp "$(command -v opencode)" ${PATHS.opencodeBinary} && chmod 0755 ${PATHS.opencodeBinary}`)],
      volumeMounts: [{ name: TOOLS_VOLUME, mountPath: PATHS.toolsDir }],
      securityContext: base.securityContext,
    });
  }
  initContainers.push(...contexts.initContainers, ...skills.initContainers);

  const env: k8s.EnvVar[] = [
    { name: 'HOME', value: PATHS.tmp },
    { name: ENV.workspaceDir, value: ws },
  ];
  if (opencodeJson) {
    env.push({ name: ENV.opencodeConfig, value: PATHS.opencodeConfig });
    mainMounts.push({ name: GENERATED_VOLUME, mountPath: PATHS.opencodeConfig, subPath: 'opencode.json', readOnly: true });
  }
  // OpenCode loads AGENTS.md only from its working directory up to the Git worktree root; the server runs in
  // workspaceDir, so a repository checked out below it (mountPath: code) would go unread. Listing each Git context's
  // AGENTS.md as an instruction loads it wherever the repository sits (a missing file is ignored).
  const repoInstructions = (e.contexts ?? [])
    .filter((c) => c.type === 'Git' && c.mountPath !== undefined && resolveMountPath(ws, c.mountPath) !== resolveMountPath(ws, '.'))
    .map((c) => `${resolveMountPath(ws, c.mountPath!)}/AGENTS.md`);
  const instructions = [...(contexts.aggregated ? [`${ws}/${PATHS.contextFile}`] : []), ...repoInstructions];
  if (instructions.length > 0) {
    // absolute paths, so they resolve whatever directory a session runs in
    env.push({ name: ENV.opencodeConfigContent, value: kubeletLiteral(JSON.stringify({ instructions })) });
  }
  if (ca) env.push({ name: 'NODE_EXTRA_CA_CERTS', value: PATHS.customCaCert });

  const m = main(opencode);
  volumes.push(
    input.workspaceVolume ?? { name: WORKSPACE_VOLUME, emptyDir: {} },
    { name: TMP_VOLUME, emptyDir: {} },
    ...(Object.keys(generated).length > 0 ? [{ name: GENERATED_VOLUME, configMap: { name: input.generatedConfigMap } }] : []),
    ...(ca ? [ca.volume] : []),
    ...contexts.volumes,
    ...skills.volumes,
    ...credentials.volumes,
  );

  const mainContainer: k8s.Container = {
    name: m.name,
    image: e.executorImage ?? IMAGES.opencode,
    command: m.command,
    workingDir: ws,
    env: [...env, ...(m.env ?? []), ...base.env.filter((v) => v.name !== 'HOME'), ...credentials.env],
    ports: m.ports,
    startupProbe: m.startupProbe,
    readinessProbe: m.readinessProbe,
    livenessProbe: m.livenessProbe,
    resources: resourceRequirements(e.podSpec?.resources),
    volumeMounts: [
      { name: WORKSPACE_VOLUME, mountPath: ws },
      ...mainMounts,
      ...base.mounts,
      ...contexts.mainMounts,
      ...skills.mainMounts,
      ...credentials.mounts,
      ...(m.mounts ?? []),
    ],
    securityContext,
  };

  return {
    opencode,
    generated,
    spec: {
      ...podLevelSettings(e),
      initContainers: initContainers.length ? initContainers : undefined,
      containers: [mainContainer, ...contexts.sidecars],
      volumes,
    },
  };
}

/** What every pod generated for an environment shares at pod level: identity, pull secrets, placement, security. */
export function podLevelSettings(e: Environment): Pick<k8s.PodSpec,
'serviceAccountName' | 'automountServiceAccountToken' | 'imagePullSecrets' | 'runtimeClassName' | 'nodeSelector' | 'tolerations' | 'affinity' |
'securityContext'> {
  const scheduling = e.podSpec?.scheduling;
  return {
    serviceAccountName: e.serviceAccountName,
    // the agent runs model-chosen commands: no API token unless the Agent asks for one
    automountServiceAccountToken: e.podSpec?.automountServiceAccountToken ?? false,
    imagePullSecrets: e.imagePullSecrets?.length ? e.imagePullSecrets.map((s) => ({ name: s.name })) : undefined,
    runtimeClassName: e.podSpec?.runtimeClassName,
    nodeSelector: scheduling?.nodeSelector as Record<string, string> | undefined,
    tolerations: scheduling?.tolerations as k8s.Toleration[] | undefined,
    affinity: scheduling?.affinity as k8s.Affinity | undefined,
    securityContext: podSecurityContext(e.podSpec),
  };
}
