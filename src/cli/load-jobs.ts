/** Loads job definitions for `distributex start --actors <module>`. */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError } from '../node/config.js'
import type { JobDef } from '../jobs/types.js'

/** True for a value built by defineJob. */
function isJobDef(value: unknown): value is JobDef {
  const v = value as Partial<JobDef> | null
  return typeof v === 'object' && v !== null && typeof v.type === 'string' && typeof v.run === 'function' && typeof v.concurrency === 'number'
}

/** Imports `module` (a path; TypeScript works) and returns every job definition it exports, directly or in an exported array. */
export async function loadJobModule(module: string): Promise<JobDef[]> {
  let exports: Record<string, unknown>
  try {
    exports = (await import(pathToFileURL(resolve(module)).href)) as Record<string, unknown>
  } catch (error) {
    throw new ConfigError(`cannot load job module ${module}: ${(error as Error).message}`)
  }
  const defs: JobDef[] = []
  for (const value of Object.values(exports)) {
    if (isJobDef(value)) defs.push(value)
    else if (Array.isArray(value)) defs.push(...value.filter(isJobDef))
  }
  if (defs.length === 0) throw new ConfigError(`${module} exports no job definitions (build them with defineJob)`)
  const types = new Set<string>()
  for (const def of defs) {
    if (types.has(def.type)) throw new ConfigError(`${module} defines job type ${def.type} twice`)
    types.add(def.type)
  }
  return defs
}
