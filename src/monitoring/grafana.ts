/**
 * The Grafana dashboard of a DistributeX cluster as code: typed panels rendered to the JSON model
 * Grafana imports (`distributex monitoring grafana`; the committed copy is
 * src/monitoring/grafana-dashboard.json, kept equal to this module by a test).
 *
 * Invariants: every panel query names only metrics the runtime exports or the recording rules of
 * ./rules.ts define (test/monitoring/grafana.test.ts checks them against a live peer's /metrics),
 * and every panel states its unit. The data source is a variable, so the file imports as is.
 */

/** Grafana's unit ids used here. */
type Unit = 'short' | 'ops' | 's' | 'percentunit' | 'bytes' | 'Bps' | 'none'

export interface PanelSpec {
  readonly title: string
  readonly description: string
  readonly kind: 'timeseries' | 'stat'
  readonly unit: Unit
  /** PromQL with its legend. */
  readonly queries: ReadonlyArray<{ readonly expr: string; readonly legend: string }>
}

export interface RowSpec {
  readonly title: string
  readonly panels: readonly PanelSpec[]
}

const ts = (title: string, unit: Unit, description: string, ...queries: Array<[string, string]>): PanelSpec => ({
  title,
  description,
  kind: 'timeseries',
  unit,
  queries: queries.map(([expr, legend]) => ({ expr, legend })),
})
const stat = (title: string, unit: Unit, description: string, expr: string): PanelSpec => ({ title, description, kind: 'stat', unit, queries: [{ expr, legend: title }] })

export const ROWS: readonly RowSpec[] = [
  {
    title: 'Cluster overview',
    panels: [
      stat('Peers up', 'short', 'Peers Prometheus scrapes successfully', 'sum(up{job="distributex"})'),
      stat('Leader epoch', 'none', 'Epoch of the current leader; it grows by one per leader change', 'dx:cluster_leader_epoch:max'),
      stat('Leading peers', 'short', 'Peers holding the leader lease: 1 in a healthy cluster', 'sum(dx_cluster_leading)'),
      stat('Members down', 'short', 'Members the peers see as down', 'max(dx_cluster_members{state="down"})'),
      ts('Members by state', 'short', 'Members as the peers see them, by state', ['max by (state) (dx_cluster_members)', '{{state}}']),
      ts('Leader epoch over time', 'none', 'Each step is a leader change', ['max by (instance) (dx_cluster_leader_epoch)', '{{instance}}']),
    ],
  },
  {
    title: 'Jobs',
    panels: [
      ts(
        'Throughput',
        'ops',
        'Jobs finished per second, by outcome, and submissions accepted',
        ['dx:jobs_finished:rate1m', '{{outcome}}'],
        ['dx:jobs_accepted:rate1m', 'accepted'],
      ),
      ts('Attempt latency', 's', 'Duration of job attempts across all peers', ['dx:job_attempt_seconds:p50_1m', 'P50'], ['dx:job_attempt_seconds:p99_1m', 'P99']),
      ts('Failure ratio', 'percentunit', 'Share of finished jobs that failed', ['dx:job_failure:ratio1m', 'failed']),
      ts('Backlog', 'short', 'Jobs the leader has not finished, and finished ones it still holds', ['dx:jobs_backlog:sum', 'backlog'], ['sum(dx_jobs_retained)', 'retained']),
      ts(
        'Job-log append latency',
        's',
        'Submit to durable, P99 and P50',
        ['dx:job_log_append_seconds:p99_1m', 'P99'],
        ['histogram_quantile(0.5, sum by (le) (rate(dx_job_log_append_seconds_bucket[1m])))', 'P50'],
      ),
      ts('Attempts by type', 'ops', 'Attempts finished per second, by job type and outcome', [
        'sum by (type, outcome) (rate(dx_job_attempt_seconds_count[1m]))',
        '{{type}} {{outcome}}',
      ]),
    ],
  },
  {
    title: 'Scheduling and forecasts',
    panels: [
      ts(
        'Saturation',
        'percentunit',
        'Running and locally waiting attempts over the capacity of all workers, and its linear forecast 30 minutes ahead',
        ['dx:cluster_saturation:ratio', 'now'],
        ['predict_linear(dx:cluster_saturation:ratio[15m], 1800)', 'in 30 min'],
      ),
      ts(
        'Running per peer',
        'short',
        'Attempts running on each peer, and its capacity',
        ['sum by (instance) (dx_jobs_running)', '{{instance}} running'],
        ['sum by (instance) (dx_jobs_capacity)', '{{instance}} capacity'],
      ),
      ts('Waiting per peer', 'short', 'Assigned attempts waiting for a free worker', ['sum by (instance) (dx_jobs_waiting_local)', '{{instance}}']),
      ts(
        'Backlog forecast',
        'short',
        'Backlog and its linear forecast 30 minutes ahead',
        ['dx:jobs_backlog:sum', 'now'],
        ['predict_linear(dx:jobs_backlog:sum[15m], 1800)', 'in 30 min'],
      ),
    ],
  },
  {
    title: 'Mesh and actors',
    panels: [
      ts('Mesh peers', 'short', 'Peers with an open mesh stream, per peer', ['dx_net_peers', '{{instance}}']),
      ts(
        'Mesh traffic',
        'Bps',
        'Bytes written to and read from mesh streams',
        ['sum by (instance) (rate(dx_net_bytes_written_total[1m]))', '{{instance}} out'],
        ['sum by (instance) (rate(dx_net_bytes_read_total[1m]))', '{{instance}} in'],
      ),
      ts('Outbound queue', 'bytes', 'Bytes waiting for credit or the next flush', ['dx_net_outbound_queue_bytes', '{{instance}}']),
      ts(
        'Mesh trouble',
        'ops',
        'Refused sends, reconnects and protocol violations',
        ['sum by (reason) (rate(dx_net_send_refused_total[1m]))', 'refused {{reason}}'],
        ['sum(rate(dx_net_reconnects_total[1m]))', 'reconnects'],
        ['sum(rate(dx_net_protocol_violations_total[1m]))', 'violations'],
      ),
      ts('Actor messages', 'ops', 'Messages processed by actors, per peer', ['rate(dx_actor_messages_processed_total[1m])', '{{instance}}']),
      ts('Actors and mailboxes', 'short', 'Live actors and queued messages', ['dx_actors', '{{instance}} actors'], ['dx_actor_queued_messages', '{{instance}} queued']),
      ts(
        'Actor failures',
        'ops',
        'Handler failures, restarts and dead letters',
        ['sum(rate(dx_actor_failures_total[1m]))', 'failures'],
        ['sum(rate(dx_actor_restarts_total[1m]))', 'restarts'],
        ['sum by (reason) (rate(dx_actor_dead_letters_total[1m]))', 'dead letters {{reason}}'],
      ),
      ts(
        'Replication',
        'short',
        'Commit index and durable log end per peer',
        ['dx_replication_commit_index', '{{instance}} commit'],
        ['dx_replication_log_end', '{{instance}} log end'],
      ),
    ],
  },
  {
    title: 'Process',
    panels: [
      ts('Event-loop lag P99', 's', 'Per peer; the alert threshold is 200 ms', ['dx_nodejs_eventloop_lag_p99_seconds', '{{instance}}']),
      ts('CPU', 'percentunit', 'CPU seconds per second (1 = one core)', ['rate(dx_process_cpu_seconds_total[1m])', '{{instance}}']),
      ts(
        'Memory',
        'bytes',
        'Resident memory and V8 heap used',
        ['dx_process_resident_memory_bytes', '{{instance}} resident'],
        ['sum by (instance) (dx_nodejs_heap_size_used_bytes)', '{{instance}} heap'],
      ),
      ts('Open file descriptors', 'short', 'Per peer', ['dx_process_open_fds', '{{instance}}']),
    ],
  },
]

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' }

/** The dashboard's JSON model (schema 39, Grafana 10 and later). */
export function grafanaDashboard(rows: readonly RowSpec[] = ROWS): Record<string, unknown> {
  const panels: unknown[] = []
  let id = 1
  let y = 0
  for (const row of rows) {
    panels.push({ type: 'row', id: id++, title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] })
    y += 1
    let x = 0
    for (const panel of row.panels) {
      const w = panel.kind === 'stat' ? 6 : 12
      const h = panel.kind === 'stat' ? 4 : 8
      if (x + w > 24) {
        x = 0
        y += 8
      }
      panels.push({
        type: panel.kind,
        id: id++,
        title: panel.title,
        description: panel.description,
        datasource: DATASOURCE,
        gridPos: { h, w, x, y },
        fieldConfig: { defaults: { unit: panel.unit, ...(panel.kind === 'timeseries' ? { custom: { lineWidth: 1, fillOpacity: 10, showPoints: 'never' } } : {}) }, overrides: [] },
        options:
          panel.kind === 'stat'
            ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'area' }
            : { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'none' } },
        targets: panel.queries.map((q, i) => ({ datasource: DATASOURCE, expr: q.expr, legendFormat: q.legend, refId: String.fromCharCode(65 + i) })),
      })
      x += w
      if (panel.kind === 'stat' && x >= 24) {
        x = 0
        y += h
      }
    }
    y += 8
  }
  return {
    title: 'DistributeX',
    uid: 'distributex-cluster',
    tags: ['distributex'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    templating: { list: [{ name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {}, hide: 0 }] },
    annotations: { list: [] },
    panels,
  }
}

/** Every PromQL expression of the dashboard. */
export function dashboardQueries(rows: readonly RowSpec[] = ROWS): string[] {
  return rows.flatMap((r) => r.panels.flatMap((p) => p.queries.map((q) => q.expr)))
}

/** The dashboard file as committed: indented JSON and a final newline. */
export function renderDashboard(): string {
  return JSON.stringify(grafanaDashboard(), null, 2) + '\n'
}
