/**
 * `distributex monitoring rules | grafana | prometheus`: prints the Prometheus rules file, the
 * Grafana dashboard JSON and a Prometheus configuration for a cluster, from the modules that define
 * them, so an installed package can set up its monitoring without a checkout.
 */
import { parseArgs } from 'node:util'
import { renderDashboard } from '../monitoring/grafana.js'
import { prometheusConfig } from '../monitoring/prometheus-config.js'
import { renderRules } from '../monitoring/rules.js'
import { NodeRequestError } from './http-client.js'

export async function runMonitoring(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { targets: { type: 'string' }, 'rules-file': { type: 'string', default: 'distributex.rules.yml' }, 'scrape-interval': { type: 'string', default: '15s' } } })
  const [what] = positionals
  switch (what) {
    case 'rules':
      process.stdout.write(renderRules())
      return 0
    case 'grafana':
      process.stdout.write(renderDashboard())
      return 0
    case 'prometheus': {
      const targets = (values.targets ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '')
      if (targets.length === 0) throw new NodeRequestError('prometheus needs --targets host:port,host:port (the HTTP API of every peer)', undefined)
      process.stdout.write(prometheusConfig({ targets, rulesFile: values['rules-file'], scrapeInterval: values['scrape-interval'], evaluationInterval: values['scrape-interval'] }))
      return 0
    }
    default:
      throw new NodeRequestError(`usage: distributex monitoring rules | grafana | prometheus --targets host:port,...`, undefined)
  }
}
