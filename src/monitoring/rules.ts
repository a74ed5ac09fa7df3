/**
 * The Prometheus recording and alert rules for a DistributeX cluster, as typed data rendered to the
 * rules file Prometheus loads (`distributex monitoring rules`; the committed copy is
 * src/monitoring/distributex.rules.yml, kept equal to this module by a test).
 *
 * Invariants: every expression names only metrics the runtime exports (or series recorded here),
 * every alert has a severity and a summary, and every alert has a `promtool test rules` case
 * (test/monitoring/alerts.promtest.yml). Scrape targets are expected under the job name
 * `distributex` (see prometheusConfig in ./prometheus-config.ts).
 */

/** A recording rule: `record` is evaluated from `expr` at every evaluation. */
export interface RecordingRule {
  readonly record: string
  readonly expr: string
}

/** An alert rule: fires once `expr` has returned series for `for`. */
export interface AlertRule {
  readonly alert: string
  readonly expr: string
  readonly for: string
  readonly labels: { readonly severity: 'critical' | 'warning' }
  readonly annotations: { readonly summary: string; readonly description: string }
}

export interface RuleGroup {
  readonly name: string
  readonly rules: readonly (RecordingRule | AlertRule)[]
}

/** The job name the rules expect the peers to be scraped under. */
export const SCRAPE_JOB = 'distributex'

/** Thresholds of the alerts; their defaults suit jobs of seconds and a job log on local disks. */
export const THRESHOLDS = {
  /** Seconds without any leader before paging: the failover bound is about 1.3 s, plus two scrapes. */
  noLeaderFor: '15s',
  /** Leader changes within 10 minutes that count as flapping. */
  leaderChanges: 3,
  /** Seconds a member stays down (or unscrapable) before the alert fires. */
  memberDownFor: '10s',
  /** Share of finished jobs that failed. */
  failureRatio: 0.1,
  /** P99 of job attempt durations, seconds. */
  attemptP99Seconds: 30,
  /** P99 of job-log appends (submit to durable), seconds. */
  appendP99Seconds: 0.5,
  /** Backlog size from which a steady growth alerts. */
  backlogMin: 1000,
  /** Event-loop lag P99, seconds. */
  eventLoopLagSeconds: 0.2,
} as const

export const RECORDING_RULES: readonly RecordingRule[] = [
  { record: 'dx:jobs_finished:rate1m', expr: 'sum by (outcome) (rate(dx_jobs_finished_total[1m]))' },
  { record: 'dx:jobs_accepted:rate1m', expr: 'sum(rate(dx_jobs_accepted_total[1m]))' },
  { record: 'dx:job_failure:ratio1m', expr: 'sum(rate(dx_jobs_finished_total{outcome="failed"}[1m])) / clamp_min(sum(rate(dx_jobs_finished_total[1m])), 1e-9)' },
  { record: 'dx:job_attempt_seconds:p50_1m', expr: 'histogram_quantile(0.5, sum by (le) (rate(dx_job_attempt_seconds_bucket[1m])))' },
  { record: 'dx:job_attempt_seconds:p99_1m', expr: 'histogram_quantile(0.99, sum by (le) (rate(dx_job_attempt_seconds_bucket[1m])))' },
  { record: 'dx:job_log_append_seconds:p99_1m', expr: 'histogram_quantile(0.99, sum by (le) (rate(dx_job_log_append_seconds_bucket[1m])))' },
  { record: 'dx:jobs_backlog:sum', expr: 'sum(dx_jobs_backlog)' },
  { record: 'dx:cluster_leader_epoch:max', expr: 'max(dx_cluster_leader_epoch)' },
  { record: 'dx:cluster_saturation:ratio', expr: '(sum(dx_jobs_running) + sum(dx_jobs_waiting_local)) / clamp_min(sum(dx_jobs_capacity), 1)' },
]

const t = THRESHOLDS

export const ALERT_RULES: readonly AlertRule[] = [
  {
    alert: 'DistributeXNoLeader',
    expr: '(sum(dx_cluster_leading) or vector(0)) < 1',
    for: t.noLeaderFor,
    labels: { severity: 'critical' },
    annotations: {
      summary: 'No peer holds the leader lease',
      description: `No peer has led for ${t.noLeaderFor} (a crashed leader is normally replaced within about 1.3 s): no jobs are scheduled. Check that a majority of voters is up and can reach each other.`,
    },
  },
  {
    alert: 'DistributeXLeaderFlapping',
    expr: `changes(dx:cluster_leader_epoch:max[10m]) > ${t.leaderChanges}`,
    for: '0s',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'The leader keeps changing',
      description: `More than ${t.leaderChanges} leader changes in 10 minutes ({{ $value }}): look for peers restarting, event-loop stalls or a lossy network.`,
    },
  },
  {
    alert: 'DistributeXMemberDown',
    expr: 'max(dx_cluster_members{state="down"}) > 0',
    for: t.memberDownFor,
    labels: { severity: 'warning' },
    annotations: {
      summary: 'A member of the cluster is down',
      description: 'The peers see {{ $value }} member(s) down: restart it, or remove it for good with `distributex members remove <nodeId>`.',
    },
  },
  {
    alert: 'DistributeXPeerUnreachable',
    expr: `up{job="${SCRAPE_JOB}"} == 0`,
    for: t.memberDownFor,
    labels: { severity: 'warning' },
    annotations: {
      summary: 'Prometheus cannot scrape a peer',
      description: 'The peer at {{ $labels.instance }} does not answer /metrics: it is stopped, or its HTTP API is unreachable.',
    },
  },
  {
    alert: 'DistributeXJobFailureRateHigh',
    expr: `dx:job_failure:ratio1m > ${t.failureRatio}`,
    for: '5m',
    labels: { severity: 'warning' },
    annotations: { summary: 'Many jobs fail', description: `{{ $value | humanizePercentage }} of finished jobs failed over the last minute (threshold ${t.failureRatio * 100}%).` },
  },
  {
    alert: 'DistributeXJobLatencyHigh',
    expr: `dx:job_attempt_seconds:p99_1m > ${t.attemptP99Seconds}`,
    for: '10m',
    labels: { severity: 'warning' },
    annotations: { summary: 'Job attempts are slow', description: `The P99 of job attempt durations is {{ $value | humanizeDuration }} (threshold ${t.attemptP99Seconds} s).` },
  },
  {
    alert: 'DistributeXJobLogAppendSlow',
    expr: `dx:job_log_append_seconds:p99_1m > ${t.appendP99Seconds}`,
    for: '5m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'The job log is slow to make submissions durable',
      description: `P99 of job-log appends is {{ $value | humanizeDuration }} (threshold ${t.appendP99Seconds} s): check the disks of the voters, or the Kafka brokers.`,
    },
  },
  {
    alert: 'DistributeXBacklogGrowing',
    expr: `deriv(dx:jobs_backlog:sum[10m]) > 0 and dx:jobs_backlog:sum > ${t.backlogMin}`,
    for: '10m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'The backlog keeps growing',
      description: `More than ${t.backlogMin} unfinished jobs and growing for 10 minutes: the cluster takes jobs faster than it finishes them. Add peers or slow the producers.`,
    },
  },
  {
    alert: 'DistributeXSaturationPredicted',
    expr: 'predict_linear(dx:cluster_saturation:ratio[15m], 1800) > 1 and dx:cluster_saturation:ratio > 0.5',
    for: '5m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'The cluster will be saturated within 30 minutes',
      description:
        'At the trend of the last 15 minutes, running and waiting attempts exceed the capacity of all workers within 30 minutes (predicted: {{ $value | humanizePercentage }} of capacity).',
    },
  },
  {
    alert: 'DistributeXEventLoopLag',
    expr: `dx_nodejs_eventloop_lag_p99_seconds > ${t.eventLoopLagSeconds}`,
    for: '5m',
    labels: { severity: 'warning' },
    annotations: {
      summary: "A peer's event loop lags",
      description: `P99 event-loop lag of {{ $labels.instance }} is {{ $value | humanizeDuration }} (threshold ${t.eventLoopLagSeconds * 1000} ms): jobs block the loop, or the host is overloaded. Its gossip and lease renewals are late too.`,
    },
  },
]

/**
 * One group: rules of a group are evaluated in order, so every alert reads the series recorded in
 * the same evaluation (groups are evaluated independently, and an alert in another group could read
 * a recording one evaluation late).
 */
export const RULE_GROUPS: readonly RuleGroup[] = [{ name: 'distributex', rules: [...RECORDING_RULES, ...ALERT_RULES] }]

/** A YAML double-quoted scalar: JSON's string escapes are valid YAML. */
const quote = (text: string): string => JSON.stringify(text)

/** The rules file, in YAML. */
export function renderRules(groups: readonly RuleGroup[] = RULE_GROUPS): string {
  const lines = ['# DistributeX recording and alert rules. Generated by `distributex monitoring rules` (src/monitoring/rules.ts): do not edit.', 'groups:']
  for (const group of groups) {
    lines.push(`  - name: ${quote(group.name)}`, '    rules:')
    for (const rule of group.rules) {
      if ('record' in rule) {
        lines.push(`      - record: ${quote(rule.record)}`, `        expr: ${quote(rule.expr)}`)
        continue
      }
      lines.push(
        `      - alert: ${quote(rule.alert)}`,
        `        expr: ${quote(rule.expr)}`,
        `        for: ${rule.for}`,
        '        labels:',
        `          severity: ${rule.labels.severity}`,
        '        annotations:',
        `          summary: ${quote(rule.annotations.summary)}`,
        `          description: ${quote(rule.annotations.description)}`,
      )
    }
  }
  return lines.join('\n') + '\n'
}
