// Goal: the README's metric catalogue is the one the code declares (regenerate with
// `npx tsx test/docs/metric-catalogue.ts --write`); it lists every metric with type, unit, labels
// and meaning. test/monitoring/grafana.test.ts checks the scan against a live peer's /metrics.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { END, renderCatalogue, ROOT, scanMetrics, START } from './metric-catalogue.js'

test('the README holds the generated metric catalogue', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf(START), readme.indexOf(END) + END.length)
  assert.equal(section, renderCatalogue(), 'the catalogue drifted: npx tsx test/docs/metric-catalogue.ts --write')
})

test('the catalogue has every declared metric with a meaning, and the jobs and cluster metrics the rules use', () => {
  const metrics = scanMetrics()
  assert.ok(metrics.length >= 45, `${metrics.length} metrics`)
  for (const m of metrics) assert.ok(m.help.length > 10, `${m.name} has a meaning`)
  const names = new Set(metrics.map((m) => m.name))
  for (const name of ['dx_jobs_finished_total', 'dx_job_attempt_seconds', 'dx_cluster_leading', 'dx_jobs_capacity', 'dx_net_peers']) assert.ok(names.has(name), name)
  assert.deepEqual(metrics.find((m) => m.name === 'dx_job_attempt_seconds')?.labels, ['type', 'outcome'])
})
