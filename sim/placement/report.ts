/**
 * The self-contained HTML report of a comparison: inline SVG plots (no scripts, no CDN) of the JCT
 * CDF per policy, P99 against load, the load forecast against the actual load, and an alert
 * timeline from the ramp study; plus the summary table.
 */
import { HoltDamped } from '../../src/predict/forecast.js'
import type { PolicySummary } from './compare.js'
import type { PlacementScenario } from './engine.js'
import type { RampStudy } from './ramps.js'

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#17becf', '#bcbd22']
const W = 640
const H = 320
const M = { l: 56, r: 150, t: 16, b: 40 }

interface Series {
  readonly name: string
  readonly points: ReadonlyArray<readonly [number, number]>
  readonly dashed?: boolean
}

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)
}

function plot(
  title: string,
  xLabel: string,
  yLabel: string,
  series: readonly Series[],
  options: { logX?: boolean; marks?: Array<{ x: number; label: string; colour: string }> } = {},
): string {
  const all = series.flatMap((s) => s.points)
  if (all.length === 0) return `<p>${esc(title)}: no data</p>`
  const tx = (x: number): number => (options.logX === true ? Math.log10(Math.max(x, 1e-3)) : x)
  const xs = all.map((p) => tx(p[0]))
  const ys = all.map((p) => p[1])
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)]
  const [y0, y1] = [Math.min(0, ...ys), Math.max(...ys)]
  const sx = (x: number): number => M.l + ((tx(x) - x0) / (x1 - x0 || 1)) * (W - M.l - M.r)
  const sy = (y: number): number => H - M.b - ((y - y0) / (y1 - y0 || 1)) * (H - M.t - M.b)
  const ticks = (a: number, b: number): number[] => Array.from({ length: 5 }, (_, i) => a + ((b - a) * i) / 4)
  const out: string[] = [
    `<figure><figcaption>${esc(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
  ]
  out.push(`<rect x="${M.l}" y="${M.t}" width="${W - M.l - M.r}" height="${H - M.t - M.b}" fill="none" stroke="#999"/>`)
  for (const t of ticks(x0, x1)) {
    const label = options.logX === true ? 10 ** t : t
    const x = M.l + ((t - x0) / (x1 - x0 || 1)) * (W - M.l - M.r)
    out.push(`<text x="${x}" y="${H - M.b + 14}" text-anchor="middle">${label < 10 ? label.toFixed(2) : label.toFixed(0)}</text>`)
  }
  for (const t of ticks(y0, y1)) out.push(`<text x="${M.l - 4}" y="${sy(t) + 4}" text-anchor="end">${Math.abs(t) < 10 ? t.toFixed(2) : t.toFixed(0)}</text>`)
  out.push(`<text x="${(M.l + W - M.r) / 2}" y="${H - 6}" text-anchor="middle">${esc(xLabel)}</text>`)
  out.push(`<text x="12" y="${(M.t + H - M.b) / 2}" text-anchor="middle" transform="rotate(-90 12 ${(M.t + H - M.b) / 2})">${esc(yLabel)}</text>`)
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!
    const d = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join('')
    out.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="1.5"${s.dashed === true ? ' stroke-dasharray="4 3"' : ''}/>`)
    out.push(`<text x="${W - M.r + 8}" y="${M.t + 12 + i * 14}" fill="${colour}">${esc(s.name)}</text>`)
  })
  for (const m of options.marks ?? [])
    out.push(`<line x1="${sx(m.x)}" x2="${sx(m.x)}" y1="${M.t}" y2="${H - M.b}" stroke="${m.colour}" stroke-dasharray="2 2"><title>${esc(m.label)}</title></line>`)
  out.push('</svg></figure>')
  return out.join('')
}

/** At most `n` points of a sorted sample's empirical CDF. */
function cdf(sorted: Float64Array, n = 200): Array<[number, number]> {
  const out: Array<[number, number]> = []
  for (let i = 0; i < n; i++) {
    const k = Math.min(sorted.length - 1, Math.floor((i / (n - 1)) * (sorted.length - 1)))
    out.push([sorted[k]!, (k + 1) / sorted.length])
  }
  return out
}

export interface ReportInput {
  readonly scenario: PlacementScenario
  readonly seeds: readonly number[]
  readonly rows: readonly PolicySummary[]
  /** P99 per policy at several loads (rho), if measured. */
  readonly byLoad?: ReadonlyArray<{ rho: number; rows: readonly PolicySummary[] }>
  readonly ramps?: RampStudy
}

export function renderReport(input: ReportInput): string {
  const { scenario, rows } = input
  const parts: string[] = []
  parts.push(
    `<!doctype html><html><head><meta charset="utf-8"><title>DistributeX placement: ${esc(scenario.name)}</title><style>body{font-family:sans-serif;max-width:900px;margin:2em auto;color:#222}table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}figure{margin:1.5em 0}figcaption{font-weight:bold;margin-bottom:4px}</style></head><body>`,
  )
  parts.push(
    `<h1>Placement comparison: ${esc(scenario.name)}</h1><p>${esc(scenario.description)}. ${scenario.nodes} nodes of capacity ${scenario.capacity}, ${scenario.jobs} jobs per seed, seeds ${esc(input.seeds.join(', '))}, overcommit ${scenario.overcommit}. Times are in units of the mean job on a node of speed 1; the first 10% of jobs are dropped as warm-up; ± is a 95% confidence interval over seeds.</p>`,
  )
  parts.push('<table><tr><th>policy</th><th>mean JCT</th><th>P99 JCT</th><th>makespan</th><th>utilisation</th></tr>')
  for (const r of rows)
    parts.push(
      `<tr><td>${esc(r.policy)}</td><td>${r.meanJct.toFixed(2)} ± ${r.meanJctCi.toFixed(2)}</td><td>${r.p99Jct.toFixed(2)} ± ${r.p99JctCi.toFixed(2)}</td><td>${r.makespan.toFixed(0)}</td><td>${r.utilisation.toFixed(3)}</td></tr>`,
    )
  parts.push('</table>')
  parts.push(
    plot(
      'JCT CDF per policy (first seed; log x)',
      'job completion time',
      'fraction of jobs',
      rows.map((r) => ({ name: r.policy, points: cdf(r.runs[0]!.jcts) })),
      { logX: true },
    ),
  )
  if (input.byLoad !== undefined && input.byLoad.length > 1) {
    const policies = input.byLoad[0]!.rows.map((r) => r.policy)
    parts.push(
      plot(
        'P99 JCT against load',
        'offered load (rho)',
        'P99 JCT',
        policies.map((p) => ({ name: p, points: input.byLoad!.map((b) => [b.rho, b.rows.find((r) => r.policy === p)!.p99Jct] as const) })),
      ),
    )
  }
  if (input.ramps !== undefined) {
    const load = input.ramps.timeline.load
    // Forecast against actual: the load forecast 10 s ahead, plotted at the time it was for.
    const holt = new HoltDamped()
    const forecast: Array<[number, number]> = []
    load.forEach((x, t) => {
      holt.push(x)
      if (t + 10 < load.length) forecast.push([t + 10, holt.forecast(10)])
    })
    const from = Math.max(0, (input.ramps.timeline.saturated[0] ?? 600) - 600)
    const window = (pts: Array<[number, number]>): Array<[number, number]> => pts.filter(([t]) => t >= from && t < from + 1200)
    parts.push(
      plot('Load of one node (jobs per slot) and its forecast 10 s ahead', 'time (s)', 'load', [
        { name: 'actual', points: window(load.map((x, t) => [t, x])) },
        { name: 'forecast +10 s', points: window(forecast), dashed: true },
      ]),
    )
    const marks = [
      ...input.ramps.timeline.fired.map((t) => ({ x: t, label: `alert fired at ${t} s`, colour: '#ff7f0e' })),
      ...input.ramps.timeline.saturated.map((t) => ({ x: t, label: `saturated at ${t} s`, colour: '#d62728' })),
    ]
    parts.push(
      plot(
        'Alert timeline of one node: orange = node-saturation fired, red = load reached saturation',
        'time (s)',
        'load',
        [{ name: 'load', points: load.map((x, t) => [t, x]).filter((_, i) => i % 5 === 0) as Array<[number, number]> }],
        { marks },
      ),
    )
    const r = input.ramps
    parts.push(
      `<p>Alert study: ${r.saturations} saturations over ${r.nodeHours.toFixed(0)} node-hours; recall ${r.recall.toFixed(2)}, median lead ${r.leadMedianS} s, ${r.falseAlerts} false alerts (${r.falsePerNodeHour.toFixed(2)} per node-hour).</p>`,
    )
  }
  parts.push('</body></html>')
  return parts.join('\n')
}
