/**
 * Placement, prediction and alert bench (issue 11). Runs in the placement simulator (real scheduler
 * core and policies, synthetic executors): the headline S2 (Google-2019 speeds, exponential sizes,
 * rho 0.8, G = 1) and S3 (log-normal sigma 2) over seeds 1..SEEDS, comparing eect with least-loaded
 * (gossip), wlc (speed-weighted least connections with accounting) and the oracle; then the other
 * targets' scenarios (T4 staleness, T5 rho 0.9, T6 noise, T7 homogeneous stale vs central FIFO,
 * which is wlc with overcommit 1: a node gets a job only when idle; T9 workflows of dependent
 * tasks, with critical-path order, and offline HEFT with exact sizes as the reference); then the load forecast's MASE and the alerts' recall, lead and false-alert rate on the
 * ramp study (seeds ALERT_SEEDS, 1-3 by default). Policies alternate per seed (A B A B). Prints one JSON line last; each R is eect's P99
 * divided by that policy's.
 */
import { runPlacement, type PlacementScenario } from '../../sim/placement/engine.js'
import { PLACEMENT_SCENARIOS } from '../../sim/placement/scenarios.js'
import { heftOffline } from '../../sim/placement/heft.js'
import { runRampStudy } from '../../sim/placement/ramps.js'
import { loadForecaster, TrackedForecaster } from '../../src/predict/forecast.js'

const SEEDS = Number(process.env.SEEDS ?? 5)
const JOBS = Number(process.env.JOBS ?? 20_000)
const seeds = Array.from({ length: SEEDS }, (_, i) => i + 1)
/** The ramp study's seeds for the alert figures: ALERT_SEEDS=7-9 (a range) or 1,5,9; 1-3 by default. */
const ALERT_SEEDS = ((spec: string): number[] => {
  const range = /^(\d+)-(\d+)$/.exec(spec)
  return range === null ? spec.split(',').map(Number) : Array.from({ length: Number(range[2]) - Number(range[1]) + 1 }, (_, i) => Number(range[1]) + i)
})(process.env.ALERT_SEEDS ?? '1-3')

function matrix(scenario: PlacementScenario, policies: string[], n = seeds.length): Record<string, { mean: number; p99: number }> {
  const acc: Record<string, { mean: number[]; p99: number[] }> = Object.fromEntries(policies.map((p) => [p, { mean: [], p99: [] }]))
  for (const seed of seeds.slice(0, n)) {
    for (const p of seed % 2 === 0 ? [...policies].reverse() : policies) {
      const r = runPlacement({ ...scenario, jobs: JOBS }, p, seed)
      acc[p]!.mean.push(r.meanJct)
      acc[p]!.p99.push(r.p99Jct)
    }
  }
  const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
  const out = Object.fromEntries(policies.map((p) => [p, { mean: avg(acc[p]!.mean), p99: avg(acc[p]!.p99) }]))
  console.error(`${scenario.name}: ${policies.map((p) => `${p} mean ${out[p]!.mean.toFixed(2)} P99 ${out[p]!.p99.toFixed(2)}`).join('; ')}`)
  return out
}

const S = PLACEMENT_SCENARIOS
const head = ['least-loaded', 'wlc', 'p2c', 'eect', 'eect-pull', 'oracle']
const s2 = matrix(S.S2!, head)
const s3 = matrix(S.S3!, head)
const s5 = matrix(S.S5!, ['wlc', 'p2c', 'eect'], 3)
const s4 = matrix(S.S4!, ['wlc', 'eect', 'eect-pull', 'oracle'], 3)
const s4exp = matrix({ ...S.S2!, name: 'S4-exp', rho: 0.9 }, ['wlc', 'eect', 'eect-pull', 'oracle'], 3)
const s9 = matrix(S.S9!, ['wlc', 'eect', 'eect-pull'], 3)
const s9ln = matrix({ ...S.S3!, name: 'S9-lognormal', hintNoise: 1 }, ['wlc', 'eect', 'eect-pull'], 3)
const s7 = matrix(S['S7-homog-stale']!, ['eect', 'eect-pull'], 3)
const s7fifo = matrix({ ...S['S7-homog-stale']!, name: 'S7-central-fifo', overcommit: 1 }, ['wlc'], 3)
const types = matrix(S['S2-types']!, ['wlc', 'eect'], 3)
const bounded = matrix(S['S2-bounded']!, ['least-loaded', 'wlc', 'eect', 'eect-pull'], 3)
const dag = matrix(S['S7-DAG']!, ['wlc', 'eect', 'eect-pull', 'eect-pull+rank', 'eect-pull+cp', 'oracle'], 3)
// The offline reference of T9: HEFT with exact sizes and speeds, every workflow known in advance.
const heft = Object.fromEntries(
  (['arrival', 'latest-start'] as const).map((order) => {
    const runs = seeds.slice(0, 3).map((seed) => heftOffline({ ...S['S7-DAG']!, jobs: JOBS }, seed, order))
    return [order, { mean: runs.reduce((a, r) => a + r.meanJct, 0) / runs.length, p99: runs.reduce((a, r) => a + r.p99Jct, 0) / runs.length }]
  }),
)
console.error(
  `S7-DAG offline HEFT: ${Object.entries(heft)
    .map(([o, r]) => `${o} mean ${r.mean.toFixed(2)} P99 ${r.p99.toFixed(2)}`)
    .join('; ')}`,
)

// Forecast accuracy on the ramp study's per-node load (sampled every second, as gossip would be).
const mase = { h10: [] as number[], h60: [] as number[] }
let recallNum = 0
let recallDen = 0
let falseAlerts = 0
let falseAlertsOnset = 0
let nodeHours = 0
const leads: number[] = []
for (const seed of ALERT_SEEDS) {
  const r = runRampStudy(seed, { nodes: 8, hours: 2 })
  const f = new TrackedForecaster(loadForecaster([10, 60]), [10, 60])
  for (const x of r.timeline.load) f.push(x)
  mase.h10.push(f.mase(10)!)
  mase.h60.push(f.mase(60)!)
  recallNum += r.announced
  recallDen += r.saturations
  falseAlerts += r.falseAlerts
  falseAlertsOnset += r.falseAlertsOnset
  nodeHours += r.nodeHours
  leads.push(...r.leadsS)
  console.error(
    `ramps seed ${seed}: ${r.saturations} saturations, recall ${r.recall.toFixed(2)}, lead ${r.leadMedianS} s, false ${r.falsePerNodeHour.toFixed(2)}/node-hour (${(r.falseAlertsOnset / r.nodeHours).toFixed(2)} not followed by a new episode); load MASE 10 s ${f.mase(10)!.toFixed(3)} 60 s ${f.mase(60)!.toFixed(3)}`,
  )
}
leads.sort((a, b) => a - b)
const round = (x: number): number => Math.round(x * 1000) / 1000
const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
console.error(
  JSON.stringify({
    targets: {
      T1_vs_least_loaded: { exp: round(s2.eect!.p99 / s2['least-loaded']!.p99), lognormal: round(s3.eect!.p99 / s3['least-loaded']!.p99) },
      T2_vs_wlc: {
        exp_p99: round(s2.eect!.p99 / s2.wlc!.p99),
        lognormal_p99: round(s3.eect!.p99 / s3.wlc!.p99),
        exp_mean: round(s2.eect!.mean / s2.wlc!.mean),
        lognormal_mean: round(s3.eect!.mean / s3.wlc!.mean),
      },
      T3_vs_oracle: { exp_p99: round(s2.eect!.p99 / s2.oracle!.p99), exp_mean: round(s2.eect!.mean / s2.oracle!.mean), lognormal_p99: round(s3.eect!.p99 / s3.oracle!.p99) },
      T4_staleness: { p99_G5_over_G1: round(s5.eect!.p99 / s2.eect!.p99), eect_vs_p2c_G5: round(s5.eect!.p99 / s5.p2c!.p99) },
      T5_rho09: { lognormal_vs_wlc: round(s4.eect!.p99 / s4.wlc!.p99), exp_vs_wlc: round(s4exp.eect!.p99 / s4exp.wlc!.p99), eect_p99: round(s4.eect!.p99) },
      T6_noise1: {
        exp_vs_wlc: round(s9.eect!.p99 / s9.wlc!.p99),
        lognormal_vs_wlc: round(s9ln.eect!.p99 / s9ln.wlc!.p99),
        exp_sigma1_over_sigma05: round(s9.eect!.p99 / s2.eect!.p99),
      },
      T7_homog_stale: { eect_pull_vs_central_fifo: round(s7['eect-pull']!.p99 / s7fifo.wlc!.p99), eect_vs_central_fifo: round(s7.eect!.p99 / s7fifo.wlc!.p99) },
      pull: {
        T2_exp_p99: round(s2['eect-pull']!.p99 / s2.wlc!.p99),
        T2_lognormal_p99: round(s3['eect-pull']!.p99 / s3.wlc!.p99),
        T2_exp_mean: round(s2['eect-pull']!.mean / s2.wlc!.mean),
        T3_exp_p99: round(s2['eect-pull']!.p99 / s2.oracle!.p99),
        T3_lognormal_p99: round(s3['eect-pull']!.p99 / s3.oracle!.p99),
        T5_lognormal: round(s4['eect-pull']!.p99 / s4.wlc!.p99),
        T5_exp: round(s4exp['eect-pull']!.p99 / s4exp.wlc!.p99),
        T6_exp: round(s9['eect-pull']!.p99 / s9.wlc!.p99),
        T6_lognormal: round(s9ln['eect-pull']!.p99 / s9ln.wlc!.p99),
      },
      oracle_rho09: { lognormal_vs_wlc: round(s4.oracle!.p99 / s4.wlc!.p99), exp_vs_wlc: round(s4exp.oracle!.p99 / s4exp.wlc!.p99) },
      T9_dag_workflow_jct_vs_wlc: {
        eect_mean: round(dag.eect!.mean / dag.wlc!.mean),
        eect_p99: round(dag.eect!.p99 / dag.wlc!.p99),
        eect_pull_rank_mean: round(dag['eect-pull+rank']!.mean / dag.wlc!.mean),
        eect_pull_cp_mean: round(dag['eect-pull+cp']!.mean / dag.wlc!.mean),
        eect_pull_cp_p99: round(dag['eect-pull+cp']!.p99 / dag.wlc!.p99),
        oracle_mean: round(dag.oracle!.mean / dag.wlc!.mean),
        heft_offline_mean: round(heft['latest-start']!.mean / dag.wlc!.mean),
        heft_offline_arrival_order_mean: round(heft.arrival!.mean / dag.wlc!.mean),
        eect_pull_cp_over_heft_mean: round(dag['eect-pull+cp']!.mean / heft['latest-start']!.mean),
      },
      learnt_types_vs_wlc: round(types.eect!.p99 / types.wlc!.p99),
      overcommit2: {
        eect_vs_wlc: round(bounded.eect!.p99 / bounded.wlc!.p99),
        eect_vs_least_loaded: round(bounded.eect!.p99 / bounded['least-loaded']!.p99),
        eect_pull_vs_wlc: round(bounded['eect-pull']!.p99 / bounded.wlc!.p99),
      },
    },
  }),
)
console.log(
  JSON.stringify({
    bench: 'placement',
    p99_vs_least_loaded: round(s2.eect!.p99 / s2['least-loaded']!.p99),
    p99_vs_wlc: round(s2.eect!.p99 / s2.wlc!.p99),
    p99_vs_wlc_lognormal: round(s3.eect!.p99 / s3.wlc!.p99),
    p99_vs_oracle: round(s2.eect!.p99 / s2.oracle!.p99),
    mase_10s: round(avg(mase.h10)),
    mase_60s: round(avg(mase.h60)),
    alert_recall: round(recallNum / recallDen),
    alert_lead_s_median: leads[Math.floor(leads.length / 2)] ?? 0,
    false_alerts_per_node_hour: round(falseAlerts / nodeHours),
    false_alerts_onset_per_node_hour: round(falseAlertsOnset / nodeHours),
  }),
)
