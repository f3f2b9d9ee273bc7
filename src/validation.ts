/**
 * Synth-time input checks. Every message names the construct (its kind and path), the field, what was wrong and what
 * is allowed, e.g. `Agent 'app/team-agent': persistence.sessions.size '2GB' is not a Kubernetes quantity (e.g. 2Gi)`.
 */
// type-only: the controller (whose image carries no cdk8s or constructs, peers of the library) loads this module too
import type { IConstruct } from 'constructs';
import { goDurationSeconds, isGoDuration } from './common/go-duration';

export class ValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationError';
  }
}

/** Collects problems for one construct and throws them together, so a user fixes everything in one round. */
export class Problems {
  private readonly list: string[] = [];
  constructor(private readonly kind: string, private readonly scope: IConstruct) {}

  /** Records `field: message` when `ok` is false. */
  check(ok: boolean, field: string, message: string): void {
    if (!ok) this.add(field, message);
  }

  add(field: string, message: string): void {
    this.list.push(`${field}: ${message}`);
  }

  /**
   * A loud synth-time warning (Node's process warning, printed on stderr by `cdk8s synth`) for input that works but
   * exposes something: it names the construct and the field like an error does.
   */
  warn(field: string, message: string): void {
    process.emitWarning(`${this.kind} '${this.scope.node.path}': ${field}: ${message}`, 'KubeOpenCodeSecurityWarning');
  }

  get empty(): boolean {
    return this.list.length === 0;
  }

  messages(): string[] {
    return this.list.map((m) => `${this.kind} '${this.scope.node.path}': ${m}`);
  }

  throwIfAny(): void {
    if (this.list.length === 0) return;
    throw new ValidationError(this.messages().join('\n'));
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUANTITY = /^([+-]?[0-9.]+)([eE][-+]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Kubernetes' ConfigMap key syntax (IsConfigMapKey): `[-._a-zA-Z0-9]+`, at most 253 characters, not `.`, not starting with `..`. */
export function isConfigMapKey(s: string): boolean {
  return s.length <= 253 && /^[-._a-zA-Z0-9]+$/.test(s) && s !== '.' && !s.startsWith('..');
}

/**
 * Whether an http(s) URL carries `user[:password]@` before its host (the CRDs' pattern checks the same). An ssh user
 * (git@host:path, ssh://git@host/path) is not a secret and is not matched.
 */
export function hasUserinfo(url: string): boolean {
  return /^https?:\/\/[^/?#]*@/i.test(url);
}

/** Whether a proxy URL carries a password (`user:password@`). */
export function hasPassword(url: string): boolean {
  return /^(?:[a-zA-Z][-+.a-zA-Z0-9]*:\/\/)?[^/?#@]*:[^/?#@]*@/.test(url);
}

/** A Git repository URL the pods accept: https, http or ssh (git@host:path). file:// and other transports are refused. */
export function isGitUrl(url: string): boolean {
  return /^(https?:\/\/|ssh:\/\/|git@)/.test(url);
}

export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && DNS_LABEL.test(s);
}

export function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && DNS_SUBDOMAIN.test(s);
}

export function isQuantity(s: string): boolean {
  return QUANTITY.test(s) && !/^[+-]?\.?$/.test(s.replace(/[a-zA-Z]+$/, ''));
}

export function isEnvName(s: string): boolean {
  return ENV_NAME.test(s);
}

/** Go duration, as the CRDs accept it (e.g. 30m, 1h30m, 90s). */
export const isDuration = isGoDuration;

/** The seconds a Go duration stands for. */
export const durationSeconds = goDurationSeconds;

export function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}

/**
 * Warns when a proxy URL carries a password. There is no Secret form for the proxy (upstream KubeOpenCode has none
 * either): HTTP(S)_PROXY is an environment variable of every container, the agent's included, so whoever can read
 * the pod spec or run code in the agent's container can read the password. README: Security model.
 */
export function warnProxyPasswords(proxy: { httpProxy?: string; httpsProxy?: string } | undefined, problems: Problems, field = 'proxy'): void {
  for (const k of ['httpProxy', 'httpsProxy'] as const) {
    const v = proxy?.[k];
    if (v && hasPassword(v)) {
      problems.warn(`${field}.${k}`, 'the proxy URL carries a password: it is plain text in the manifest and in the environment of every container, the agent\'s included (prefer a proxy that authorizes pods by address, see README "Security model")');
    }
  }
}

/** A value as an error message quotes it: a string in single quotes, anything else as JSON (`'Never'`, `42`, `null`). */
export const quoteValue = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v));
