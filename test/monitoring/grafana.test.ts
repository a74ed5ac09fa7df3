// Goal: the committed Grafana dashboard is the one the code generates, imports as a Grafana JSON
// model, and every query in it (and in the Prometheus rules) names only metrics that a real peer
// running jobs serves on /metrics, or series the recording rules define.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { dashboardQueries, grafanaDashboard, renderDashboard } from '../../src/monitoring/grafana.js'
import { ALERT_RULES, RECORDING_RULES } from '../../src/monitoring/rules.js'
import { freePort, Peer, waitFor } from '../helpers/peers.js'
import { scanMetrics } from '../docs/metric-catalogue.js'
import { fixture } from '../helpers/bin.js'
import { sourceDir } from '../helpers/paths.js'

const ROOT = join(sourceDir(import.meta.dirname), '..', '..')
let dir: string
let peer: Peer

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dx-grafana-'))
  peer = new Peer({
    name: 'p0',
    dataDir: join(dir, 'p0'),
    secretFile: join(dir, 'p0', 'cluster.key'),
    p2pPort: await freePort(),
    httpPort: await freePort(),
    actors: fixture(join(ROOT, 'test', 'fixtures', 'jobs-module.ts')),
  })
  peer.start()
  await waitFor(
    () => peer.status(),
    (s) => s?.leading === true,
    90_000,
    'the peer to lead',
  )
})

after(async () => {
  await peer.kill()
  await rm(dir, { recursive: true, force: true })
})

/** Metric names a PromQL expression reads: dx_* series and dx:* recorded series. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(dx[_:][a-zA-Z0-9_:]+)/g)].map((m) => m[1]!)
}

test('the committed dashboard JSON is the generated one, with units and queries on every panel', () => {
  assert.equal(
    readFileSync(join(ROOT, 'src', 'monitoring', 'grafana-dashboard.json'), 'utf8'),
    renderDashboard(),
    'regenerate with: node src/cli/bin.mjs monitoring grafana > src/monitoring/grafana-dashboard.json',
  )
  const model = grafanaDashboard() as {
    panels: Array<{ type: string; title: string; id: number; fieldConfig?: { defaults: { unit?: string } }; targets?: Array<{ expr: string }> }>
    templating: { list: Array<{ name: string }> }
  }
  const rows = model.panels.filter((p) => p.type === 'row').map((p) => p.title)
  assert.deepEqual(rows, ['Cluster overview', 'Jobs', 'Scheduling and forecasts', 'Mesh and actors', 'Process'])
  assert.equal(new Set(model.panels.map((p) => p.id)).size, model.panels.length, 'panel ids are unique')
  for (const panel of model.panels.filter((p) => p.type !== 'row')) {
    assert.ok(panel.fieldConfig?.defaults.unit, `${panel.title} has a unit`)
    assert.ok((panel.targets ?? []).length > 0, `${panel.title} has a query`)
  }
  assert.ok(model.templating.list.some((v) => v.name === 'datasource'))
})

test('every metric the dashboard and the rules query is served by a real peer that ran jobs', { timeout: 90_000 }, async () => {
  const submitted = await peer.call<{ id: string; ok: boolean }>('POST', '/jobs?wait=1', { type: 'double', input: { n: 2 } })
  assert.equal(submitted.json.ok, true)
  // The histograms and the leader's counters appear once observed; wait for the finished counter.
  const text = await waitFor(
    async () => (await fetch(`${peer.httpUrl}/metrics`)).text(),
    (t) => /^dx_jobs_finished_total\{outcome="completed"\} [1-9]/m.test(t) && t.includes('dx_job_attempt_seconds_bucket'),
    30_000,
    'the job metrics',
  )
  const served = new Set([...text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)].map((m) => m[1]!))
  const recorded = new Set(RECORDING_RULES.map((r) => r.record))
  const queries = [...dashboardQueries(), ...RECORDING_RULES.map((r) => r.expr), ...ALERT_RULES.map((r) => r.expr)]
  const unknown = new Set<string>()
  let checked = 0
  for (const expr of queries) {
    for (const name of metricNames(expr)) {
      checked++
      if (name.startsWith('dx:') ? !recorded.has(name) : !served.has(name)) unknown.add(`${name} (in ${expr})`)
    }
  }
  assert.ok(checked > 40, `checked ${checked} metric references`)
  assert.deepEqual([...unknown], [])

  // The README's catalogue (scanned from the sources) is exactly what the peer declares.
  const families = new Map(
    [...text.matchAll(/^# HELP (dx_\S+) (.*)$/gm)]
      .filter((m) => !/^dx_(process|nodejs)_/.test(m[1]!))
      .map((m) => [m[1]!, { help: m[2]!, type: new RegExp(`^# TYPE ${m[1]} (\\w+)$`, 'm').exec(text)?.[1] }]),
  )
  const catalogue = scanMetrics()
  assert.deepEqual(
    catalogue.map((m) => m.name),
    [...families.keys()].sort(),
  )
  for (const m of catalogue) {
    assert.deepEqual([m.type, m.help], [families.get(m.name)!.type, families.get(m.name)!.help], m.name)
    for (const sample of text.matchAll(new RegExp(`^${m.name}(?:_bucket|_sum|_count)?\\{([^}]*)\\}`, 'gm'))) {
      const labels = [...sample[1]!.matchAll(/(\w+)="/g)].map((l) => l[1]!).filter((l) => l !== 'le')
      for (const label of labels) assert.ok(m.labels.includes(label), `${m.name} has label ${label} the catalogue lacks`)
    }
  }
})
