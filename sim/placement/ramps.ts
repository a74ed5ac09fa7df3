/**
 * Alert study: nodes whose arrival rate ramps past their capacity now and then, sampled once per
 * second as gossip would, fed to the real AlertEngine. Counts how many saturations (the load,
 * jobs per slot, reaching the engine's threshold) were announced beforehand, how early, and how
 * many alerts fired without a saturation following within the horizon (false alerts).
 *
 * Each node: `capacity` slots (16 by default) serving 1 job/s each; arrivals Poisson at a baseline of 40-70% of
 * capacity with a slow sinusoid; on average every `rampEveryS` a ramp raises the rate linearly over
 * 120-300 s to 1.2-1.6x capacity, holds it until the node saturates (or 10 minutes), then drops back.
 */
import { SeededRandom } from '../../src/env/prng.js'
import type { Random } from '../../src/env/types.js'
import { ALERT_HORIZON_MS, AlertEngine, type AlertOptions } from '../../src/predict/alerts.js'

export interface RampStudy {
  readonly saturations: number
  readonly announced: number
  readonly recall: number
  /** Seconds between the alert and the saturation, per announced saturation. */
  readonly leadsS: number[]
  readonly leadMedianS: number
  readonly falseAlerts: number
  /** Alerts not followed by the start of a saturation episode within two horizons (stricter). */
  readonly falseAlertsOnset: number
  readonly nodeHours: number
  readonly falsePerNodeHour: number
  /** One node's load and alert times, for the report's timeline. */
  readonly timeline: { load: number[]; fired: number[]; saturated: number[] }
}

function poisson(random: Random, mean: number): number {
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next())))
  const l = Math.exp(-mean)
  let k = 0
  for (let p = random.next(); p > l; p *= random.next()) k++
  return k
}

export function runRampStudy(seed: number, options: { nodes?: number; hours?: number; capacity?: number; rampEveryS?: number; alerts?: AlertOptions } = {}): RampStudy {
  const random = new SeededRandom(`ramps:${seed}`)
  const nodes = options.nodes ?? 8
  const seconds = Math.round((options.hours ?? 1) * 3600)
  const capacity = options.capacity ?? 16
  const rampEvery = options.rampEveryS ?? 900
  // Each node's arrivals are its own here: no placement moves one node's overflow to another.
  const engine = new AlertEngine({ stepMs: 1000, overflow: false, ...options.alerts })
  const threshold = options.alerts?.saturation ?? 2
  // The engine's own horizon: scoring a 60 s alert against a 30 s window called its early warnings false.
  const horizonS = (options.alerts?.horizonMs ?? ALERT_HORIZON_MS) / 1000
  const state = Array.from({ length: nodes }, (_, i) => ({
    id: `n${i}`,
    queue: 0,
    base: 0.4 + 0.3 * random.next(),
    phase: random.next() * 2 * Math.PI,
    ramp: null as null | { start: number; rise: number; peak: number; until: number },
    episode: false,
    calmFor: 0,
  }))
  const firedAt = new Map<string, number[]>()
  const saturatedAt = new Map<string, number[]>()
  /** The seconds each node spent at or above the threshold. */
  const overAt = new Map<string, number[]>()
  const timeline = { load: [] as number[], fired: [] as number[], saturated: [] as number[] }
  for (let t = 0; t < seconds; t++) {
    const samples = state.map((n) => {
      if (n.ramp === null && random.next() < 1 / rampEvery) n.ramp = { start: t, rise: 120 + random.next() * 180, peak: 1.2 + random.next() * 0.4, until: t + 600 }
      const base = n.base * (1 + 0.2 * Math.sin(n.phase + (2 * Math.PI * t) / 1800))
      let rate = base
      if (n.ramp !== null) {
        const x = Math.min(1, (t - n.ramp.start) / n.ramp.rise)
        rate = base + (n.ramp.peak - base) * x
        if (t >= n.ramp.until) n.ramp = null
      }
      const arrived = poisson(random, rate * capacity)
      n.queue = Math.max(0, n.queue + arrived - poisson(random, Math.min(n.queue, capacity)))
      const load = n.queue / capacity
      if (load >= threshold) overAt.set(n.id, [...(overAt.get(n.id) ?? []), t])
      if (!n.episode && load >= threshold) {
        n.episode = true
        n.calmFor = 0
        saturatedAt.set(n.id, [...(saturatedAt.get(n.id) ?? []), t])
        // The overload ends: the arrival rate drops back shortly after the node saturates.
        if (n.ramp !== null) n.ramp.until = Math.min(n.ramp.until, t + 20)
      }
      if (n.episode) {
        n.calmFor = load < threshold * 0.5 ? n.calmFor + 1 : 0
        if (n.calmFor >= 60) n.episode = false
      }
      if (n.id === 'n0') timeline.load.push(load)
      return { node: n.id, capacity, running: Math.min(n.queue, capacity), queued: Math.max(0, n.queue - capacity), offered: arrived / capacity, meanDurationS: 1 }
    })
    for (const tr of engine.sample(t * 1000, samples)) {
      if (tr.kind !== 'fired' || tr.alert.name !== 'node-saturation' || tr.alert.node === null) continue
      firedAt.set(tr.alert.node, [...(firedAt.get(tr.alert.node) ?? []), t])
    }
  }
  timeline.fired = firedAt.get('n0') ?? []
  timeline.saturated = saturatedAt.get('n0') ?? []
  let saturations = 0
  let announced = 0
  let falseAlerts = 0
  let falseAlertsOnset = 0
  const leads: number[] = []
  for (const n of state) {
    const fires = firedAt.get(n.id) ?? []
    const sats = saturatedAt.get(n.id) ?? []
    const used = new Set<number>()
    for (const s of sats) {
      saturations++
      // The earliest alert that fired at or before the saturation and within two horizons of it
      // (an alert may clear and fire again while the load hovers below the threshold).
      const f = fires.find((x) => x <= s && s - x <= 2 * horizonS)
      if (f !== undefined) {
        announced++
        leads.push(s - f)
        used.add(f)
      }
    }
    // A false alert: the load did not reach the threshold within two horizons.
    const over = overAt.get(n.id) ?? []
    for (const f of fires) if (!over.some((s) => s >= f - 1 && s <= f + 2 * horizonS)) falseAlerts++
    for (const f of fires) if (!used.has(f) && !sats.some((s) => s >= f - 1 && s <= f + 2 * horizonS)) falseAlertsOnset++
  }
  leads.sort((a, b) => a - b)
  const nodeHours = (nodes * seconds) / 3600
  return {
    saturations,
    announced,
    recall: saturations === 0 ? 1 : announced / saturations,
    leadsS: leads,
    leadMedianS: leads.length === 0 ? 0 : leads[Math.floor(leads.length / 2)]!,
    falseAlerts,
    falseAlertsOnset,
    nodeHours,
    falsePerNodeHour: falseAlerts / nodeHours,
    timeline,
  }
}
