/**
 * The spec types of kubeopencode.io/v1alpha1, derived from the classes that `cdk8s import` generated from crds/ (so
 * nothing is declared twice). `Plain<T>` turns the generated enums into their string-literal unions, so that a YAML
 * spec pastes into TypeScript as it is: `type: 'Git'`, `concurrencyPolicy: 'Forbid'`.
 */
import type * as gen from '../../imports/kubeopencode.io';

/** Maps every enum in T to the union of its string values, recursively. */
export type Plain<T> = T extends string
  ? `${T}`
  : T extends number | boolean | undefined | null
    ? T
    : T extends ReadonlyArray<infer E>
      ? ReadonlyArray<Plain<E>>
      : T extends object
        ? { readonly [K in keyof T]: Plain<T[K]> }
        : T;

export type AgentSpec = Plain<gen.AgentSpec>;
export type AgentTemplateSpec = Plain<gen.AgentTemplateSpec>;
export type TaskSpec = Plain<gen.TaskSpec>;
export type CronTaskSpec = Plain<gen.CronTaskSpec>;
export type KubeOpenCodeConfigSpec = Plain<gen.KubeOpenCodeConfigSpec>;

export type ContextItem = Plain<gen.AgentSpecContexts>;
export type ContextType = ContextItem['type'];
export type GitContext = Plain<gen.AgentSpecContextsGit>;
export type CredentialSpec = Plain<gen.AgentSpecCredentials>;
export type SkillSource = Plain<gen.AgentSpecSkills>;
export type CaBundleSpec = Plain<gen.AgentSpecCaBundle>;
export type Proxy = Plain<gen.AgentSpecProxy>;
export type PodSettings = Plain<gen.AgentSpecPodSpec>;
export type Persistence = Plain<gen.AgentSpecPersistence>;
export type ServerAuth = Plain<gen.AgentSpecServerAuth>;

/**
 * The execution environment shared by Agent and AgentTemplate: what a pod needs before opencode starts. Fields of
 * AgentTemplateSpec; an Agent's merged environment has the same shape.
 */
export type Environment = AgentTemplateSpec;
