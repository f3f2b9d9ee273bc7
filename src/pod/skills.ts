import * as path from 'path';
import { k8s } from 'cdk8s-plus-28';
import { DEFAULTS, SkillSource, skillDir } from '../api';
import { Problems, isDnsLabel, isDnsSubdomain } from '../validation';
import { validateGitRepository } from './contexts';
import { gitCredentials, gitInitContainer } from './git-init';
import { SKILLS_VOLUME, SystemBase } from './system';

export function validateSkills(skills: readonly SkillSource[] | undefined, problems: Problems, field = 'skills'): void {
  const names = new Set<string>();
  (skills ?? []).forEach((s, i) => {
    const f = `${field}[${i}]`;
    problems.check(!!s.name && isDnsLabel(s.name), `${f}.name`, `'${s.name}' must be a DNS label (it becomes /skills/${s.name}/)`);
    problems.check(!names.has(s.name), `${f}.name`, `'${s.name}' is used twice; skill source names must be unique`);
    names.add(s.name);
    if (!s.git?.repository) problems.add(`${f}.git.repository`, 'is required');
    else validateGitRepository(s.git.repository, `${f}.git.repository`, problems);
    if (s.git?.depth !== undefined) problems.check(Number.isInteger(s.git.depth) && s.git.depth >= 0, `${f}.git.depth`, 'must be 0 (full history) or a positive integer');
    if (s.git?.path !== undefined) problems.check(!s.git.path.split('/').includes('..'), `${f}.git.path`, `'${s.git.path}' must stay inside the repository`);
    (s.git?.names ?? []).forEach((n, j) =>
      problems.check(!!n && !n.includes('/') && n !== '..', `${f}.git.names[${j}]`, `'${n}' must be a directory name`));
    if (s.git?.secretRef) problems.check(isDnsSubdomain(s.git.secretRef.name ?? ''), `${f}.git.secretRef.name`, 'must name a Secret');
  });
}

/** The directories OpenCode scans for SKILL.md: /skills/{source}/{path}[/{name}]. Injected as skills.paths. */
export function skillPaths(skills: readonly SkillSource[]): string[] {
  return skills.flatMap((s) => {
    const base = path.posix.join(skillDir(s.name), s.git.path ?? '').replace(/\/$/, '');
    return s.git.names?.length ? s.git.names.map((n) => `${base}/${n}`) : [base];
  });
}

export interface SkillPlan {
  readonly initContainers: k8s.Container[];
  readonly volumes: k8s.Volume[];
  readonly mainMounts: k8s.VolumeMount[];
  readonly paths: string[];
}

export function planSkills(skills: readonly SkillSource[], base: SystemBase): SkillPlan {
  if (skills.length === 0) return { initContainers: [], volumes: [], mainMounts: [], paths: [] };
  const mount: k8s.VolumeMount = { name: SKILLS_VOLUME, mountPath: skillDir('').replace(/\/$/, '') };
  const volumes: k8s.Volume[] = [{ name: SKILLS_VOLUME, emptyDir: {} }];
  const initContainers = skills.map((s, i) => {
    const creds = gitCredentials(s.git.secretRef?.name, `skill-${i}-git`, `skill-${s.name}`);
    volumes.push(...creds.volumes);
    return gitInitContainer(base, {
      prefix: 'git-init-skill',
      index: i,
      contextName: s.name,
      repository: s.git.repository,
      ref: s.git.ref ?? DEFAULTS.gitRef,
      depth: s.git.depth ?? DEFAULTS.gitDepth,
      recurseSubmodules: s.git.recurseSubmodules ?? false,
      credentials: creds,
      mounts: [mount],
      dest: skillDir(s.name),
    });
  });
  return { initContainers, volumes, mainMounts: [{ ...mount, readOnly: true }], paths: skillPaths(skills) };
}
