/**
 * A Prometheus configuration that scrapes the peers of a cluster under the job name the rules
 * expect, and loads the rules file: the starting point printed by `distributex monitoring
 * prometheus`, and what the scrape integration test runs Prometheus with.
 */
import { SCRAPE_JOB } from './rules.js'

export interface PrometheusConfigOptions {
  /** host:port of every peer's HTTP API. */
  readonly targets: readonly string[]
  /** Path of the rules file, as Prometheus will see it. */
  readonly rulesFile: string
  readonly scrapeInterval?: string
  readonly evaluationInterval?: string
  /** A file holding the API's bearer token, when the peers have one (/metrics is public, so it is optional). */
  readonly bearerTokenFile?: string
}

/** The configuration, in YAML. */
export function prometheusConfig(options: PrometheusConfigOptions): string {
  const q = (text: string): string => JSON.stringify(text)
  return [
    'global:',
    `  scrape_interval: ${options.scrapeInterval ?? '15s'}`,
    `  evaluation_interval: ${options.evaluationInterval ?? '15s'}`,
    'rule_files:',
    `  - ${q(options.rulesFile)}`,
    'scrape_configs:',
    `  - job_name: ${q(SCRAPE_JOB)}`,
    ...(options.bearerTokenFile === undefined ? [] : ['    authorization:', `      credentials_file: ${q(options.bearerTokenFile)}`]),
    '    static_configs:',
    `      - targets: [${options.targets.map(q).join(', ')}]`,
    '',
  ].join('\n')
}
