import { randomBytes } from 'crypto';
import { CONTROLLER } from '../../api';
import type { Logger } from '../runtime/log';
import { Rest, paths } from './rest';
import { rfc3339 } from './convert';

export interface EventTarget {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  readonly apiVersion?: string;
}

/**
 * Kubernetes Events for every transition (`kubectl describe task` shows them). Sent without waiting: an Event is
 * information for people, and a slow or failed one must not hold up a reconcile.
 */
export class EventRecorder {
  constructor(private readonly rest: Rest, private readonly log: Logger, private readonly now: () => number = Date.now) {}

  record(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const t = rfc3339(this.now());
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${target.name}.${randomBytes(8).toString('hex')}`, namespace: target.namespace },
      involvedObject: { apiVersion: target.apiVersion ?? 'kubeopencode.io/v1alpha1', kind: target.kind, name: target.name, namespace: target.namespace, uid: target.uid },
      type,
      reason,
      message,
      source: { component: CONTROLLER.name },
      firstTimestamp: t,
      lastTimestamp: t,
      count: 1,
      reportingComponent: CONTROLLER.name,
    };
    this.rest.create(paths.core('events', target.namespace), body).catch((err) =>
      this.log.debug({ err: String(err), reason }, 'event not recorded'));
  }
}
