/**
 * `distributex monitoring rules | grafana | prometheus`: prints the Prometheus rules file, the
 * Grafana dashboard JSON and a Prometheus configuration for a cluster, from the modules that define
 * them, so an installed package can set up its monitoring without a checkout.
 */
import { renderDashboard } from '../monitoring/grafana.js'
import { prometheusConfig } from '../monitoring/prometheus-config.js'
import { renderRules } from '../monitoring/rules.js'
import { NodeRequestError } from './http-client.js'

export interface PrometheusOptions {
  /** The peers' HTTP APIs, comma-separated host:port. */
  readonly targets: string
  readonly rulesFile: string
  readonly scrapeInterval: string
}

/** `distributex monitoring rules`: the Prometheus recording and alert rules (YAML). */
export function printRules(): number {
  process.stdout.write(renderRules())
  return 0
}

/** `distributex monitoring grafana`: the Grafana dashboard (JSON). */
export function printGrafana(): number {
  process.stdout.write(renderDashboard())
  return 0
}

/** `distributex monitoring prometheus --targets host:port,...`: a prometheus.yml scraping those peers. */
export function printPrometheus(options: PrometheusOptions): number {
  const targets = options.targets
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')
  if (targets.length === 0) throw new NodeRequestError('prometheus needs --targets host:port,host:port (the HTTP API of every peer)', undefined)
  process.stdout.write(prometheusConfig({ targets, rulesFile: options.rulesFile, scrapeInterval: options.scrapeInterval, evaluationInterval: options.scrapeInterval }))
  return 0
}
