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

export const describe = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v));
