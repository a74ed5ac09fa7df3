/** The scenarios the sim CLI can run, by name. */
import type { Scenario } from '../run.js'
import { clusterScenario, type ClusterBug } from './cluster/index.js'
import { entitiesScenario } from './entities/index.js'
import { jobsScenario } from './jobs/index.js'
import { dashboardScenario } from './dashboard/index.js'
import { meshScenario, type MeshBug } from './mesh/index.js'
import { replicatedScenario } from './replicated/index.js'
import { replicaDiskScenario, type ReplicaDiskBug } from './replica-disk/index.js'
import { placementScenario } from './placement/index.js'
import { receptionistScenario } from './receptionist/index.js'

/** Scenario options the CLI can pass. */
export interface ScenarioOptions {
  bugs?: readonly string[]
}

/** Builds a scenario by name, with fresh state for one run. */
export const SCENARIOS: Record<string, (options: ScenarioOptions) => Scenario<unknown>> = {
  mesh: (options) => meshScenario({ bugs: (options.bugs ?? []) as MeshBug[] }) as Scenario<unknown>,
  jobs: () => jobsScenario() as Scenario<unknown>,
  dashboard: () => dashboardScenario() as Scenario<unknown>,
  cluster: (options) => clusterScenario({ bugs: (options.bugs ?? []) as ClusterBug[] }) as Scenario<unknown>,
  replicated: () => replicatedScenario() as Scenario<unknown>,
  entities: () => entitiesScenario() as Scenario<unknown>,
  placement: () => placementScenario() as Scenario<unknown>,
  receptionist: () => receptionistScenario() as Scenario<unknown>,
  'replica-disk': (options) => replicaDiskScenario({ bugs: (options.bugs ?? []) as ReplicaDiskBug[] }) as Scenario<unknown>,
}

/** The scenario a run uses when none is named. */
export const DEFAULT_SCENARIO = 'mesh'
