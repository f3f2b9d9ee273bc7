import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The controller's Prometheus metrics, on their own registry (so several controllers in one test process stay apart). */
export class ControllerMetrics {
  public readonly registry = new Registry();
  /** Queued Tasks per Agent. */
  public readonly queueDepth = new Gauge({ name: 'kubeopencode_agent_queue_length', help: 'Queued Tasks per Agent', labelNames: ['namespace', 'agent'], registers: [this.registry] });
  /** Running Tasks per Agent. */
  public readonly running = new Gauge({ name: 'kubeopencode_agent_running_tasks', help: 'Running Tasks per Agent', labelNames: ['namespace', 'agent'], registers: [this.registry] });
  /** Admission decisions, by outcome: Started, AgentAtCapacity, QuotaExceeded, AgentSuspended. */
  public readonly admissions = new Counter({ name: 'kubeopencode_task_admissions_total', help: 'Admission decisions by outcome', labelNames: ['outcome'], registers: [this.registry] });
  /** Finished Tasks by phase and reason. */
  public readonly tasks = new Counter({ name: 'kubeopencode_tasks_total', help: 'Finished Tasks by phase and reason', labelNames: ['phase', 'reason'], registers: [this.registry] });
  public readonly taskDuration = new Histogram({
    name: 'kubeopencode_task_duration_seconds',
    help: 'Running time of finished Tasks',
    labelNames: ['phase'],
    buckets: [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200],
    registers: [this.registry],
  });
  public readonly reconcileErrors = new Counter({ name: 'kubeopencode_reconcile_errors_total', help: 'Reconciles that failed (retried with back-off)', labelNames: ['kind'], registers: [this.registry] });
  public readonly reconciles = new Counter({ name: 'kubeopencode_reconciles_total', help: 'Reconciles run', labelNames: ['kind'], registers: [this.registry] });
  public readonly apiWrites = new Counter({ name: 'kubeopencode_api_writes_total', help: 'Writes to the API server', labelNames: ['verb', 'resource'], registers: [this.registry] });
  public readonly isLeader = new Gauge({ name: 'kubeopencode_leader', help: '1 while this replica holds the leader Lease', registers: [this.registry] });

  constructor(defaults = false) {
    if (defaults) collectDefaultMetrics({ register: this.registry });
  }
}
