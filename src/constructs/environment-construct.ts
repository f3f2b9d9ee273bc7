import { Construct } from 'constructs';
import { ContextItem, CredentialSpec, Environment, SkillSource } from '../api';
import { validateContexts } from '../pod/contexts';
import { validateCredentials } from '../pod/credentials';
import { validateSkills } from '../pod/skills';
import type { EveryKey } from './merge';
import { Problems } from '../validation';

/**
 * What Agent and AgentTemplate share: the execution-environment fields of their props, and the mutators that add
 * contexts, credentials and skills after construction (output is produced lazily, so the order of calls never matters).
 */
export abstract class EnvironmentConstruct extends Construct {
  private readonly contexts: ContextItem[];
  private readonly credentials: CredentialSpec[];
  private readonly skills: SkillSource[];

  protected constructor(scope: Construct, id: string, private readonly kind: 'Agent' | 'AgentTemplate', private readonly given: Environment) {
    super(scope, id);
    this.contexts = [...(given.contexts ?? [])];
    this.credentials = [...(given.credentials ?? [])];
    this.skills = [...(given.skills ?? [])];
  }

  /** Adds a context (same shape as an entry of `contexts`). */
  public addContext(context: ContextItem): this {
    const problems = new Problems(this.kind, this);
    validateContexts([...this.contexts, context], this.given.workspaceDir, problems);
    problems.throwIfAny();
    this.contexts.push(context);
    this.changed();
    return this;
  }

  /** Adds a credential (same shape as an entry of `credentials`). */
  public addCredential(credential: CredentialSpec): this {
    const problems = new Problems(this.kind, this);
    validateCredentials([...this.credentials, credential], problems);
    problems.throwIfAny();
    this.credentials.push(credential);
    this.changed();
    return this;
  }

  /** Adds a skills source (same shape as an entry of `skills`). */
  public addSkill(skill: SkillSource): this {
    const problems = new Problems(this.kind, this);
    validateSkills([...this.skills, skill], problems);
    problems.throwIfAny();
    this.skills.push(skill);
    this.changed();
    return this;
  }

  /** Called after a mutator: drop whatever was computed from the old lists. */
  protected abstract changed(): void;

  /**
   * The construct's own environment fields, with mutator additions; a list only where the props or a mutator set it.
   * Typed EveryKey so that a field added to the AgentTemplate spec and not listed here fails the build.
   */
  protected ownEnvironment(): Environment {
    const p = this.given;
    const own: EveryKey<Environment> = {
      agentImage: p.agentImage,
      executorImage: p.executorImage,
      attachImage: p.attachImage,
      workspaceDir: p.workspaceDir,
      serviceAccountName: p.serviceAccountName,
      contexts: p.contexts || this.contexts.length ? this.contexts : undefined,
      credentials: p.credentials || this.credentials.length ? this.credentials : undefined,
      skills: p.skills || this.skills.length ? this.skills : undefined,
      caBundle: p.caBundle,
      proxy: p.proxy,
      imagePullSecrets: p.imagePullSecrets,
      podSpec: p.podSpec,
      config: p.config,
    };
    return own;
  }
}
