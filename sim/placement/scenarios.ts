/** The scenarios of the placement study (scheduling-anchors §4.4), by name. */
import type { PlacementScenario } from './engine.js'

const base: Omit<PlacementScenario, 'name' | 'description'> = {
  nodes: 32,
  speeds: 'google',
  capacity: 1,
  sizes: { kind: 'exponential' },
  rho: 0.8,
  gossip: 1,
  jobs: 20_000,
  hintNoise: 0.5,
  arrivals: 'poisson',
  overcommit: Infinity,
}

export const PLACEMENT_SCENARIOS: Record<string, PlacementScenario> = {
  S1: { ...base, name: 'S1', description: 'homogeneous nodes, exponential sizes, fresh state (G=0.05), rho 0.9', speeds: 'homogeneous', rho: 0.9, gossip: 0.05, nodes: 100 },
  S2: { ...base, name: 'S2', description: 'Google-2019 speeds, exponential sizes, rho 0.8, G=1' },
  S3: { ...base, name: 'S3', description: 'Google-2019 speeds, log-normal sigma 2 sizes, rho 0.8, G=1', sizes: { kind: 'lognormal', sigma: 2 } },
  S4: { ...base, name: 'S4', description: 'as S3 at rho 0.9', sizes: { kind: 'lognormal', sigma: 2 }, rho: 0.9 },
  S5: { ...base, name: 'S5', description: 'as S2 with stale gossip G=5', gossip: 5 },
  S6: { ...base, name: 'S6', description: 'as S2 with bursty arrivals (2-state MMPP, 9:1)', arrivals: 'mmpp' },
  S9: { ...base, name: 'S9', description: 'as S2 with prediction noise sigma 1', hintNoise: 1 },
  'S2-types': {
    ...base,
    name: 'S2-types',
    description: 'as S2 with 200 recurring types (sigma 1.5 between, 0.5 within) and no hints: the predictor learns',
    sizes: { kind: 'types', types: 200, sigmaType: 1.5, sigmaWithin: 0.5 },
    hintNoise: null,
  },
  'S2-bounded': { ...base, name: 'S2-bounded', description: 'as S2 with the default overcommit of 2 (jobs beyond it wait at the leader)', overcommit: 2 },
  'S7-DAG': {
    ...base,
    name: 'S7-DAG',
    description: 'as S2 with workflows of 2-20 dependent tasks (chains with some fan-in), log-normal sigma 1 sizes; JCT is per workflow (T9)',
    sizes: { kind: 'lognormal', sigma: 1 },
    dag: { maxTasks: 20 },
  },
  'S7-homog-stale': { ...base, name: 'S7-homog-stale', description: 'homogeneous, exponential, rho 0.9, G=5 (T7)', speeds: 'homogeneous', rho: 0.9, gossip: 5 },
}
