/**
 * Loads job definitions for `distributex start --actors <module>`.
 *
 * JavaScript modules (.js, .mjs, .cjs) load with Node's own import(), so they behave exactly as in
 * the author's project. TypeScript modules (.ts, .mts, .cts) load through tsx's tsImport, which
 * compiles them in a loader namespace of their own: unlike a global tsx registration it leaves
 * other modules alone, and in a CommonJS project ("type" absent or "commonjs") it avoids the
 * require(esm) cycle a registered loader runs into. A CommonJS module's exports arrive as the
 * namespace's `default`, so both the namespace and that object are searched.
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError } from '../node/config.js'
import type { JobDef } from '../jobs/types.js'
import { isEntityDef } from '../entities/define.js'
import type { AnyEntityDef } from '../entities/types.js'

const TYPESCRIPT = /\.[cm]?tsx?$/

/** True for a value built by defineJob. */
function isJobDef(value: unknown): value is JobDef {
  const v = value as Partial<JobDef> | null
  return typeof v === 'object' && v !== null && typeof v.type === 'string' && typeof v.run === 'function' && typeof v.concurrency === 'number'
}

/** Imports the module at `path` (absolute), compiling TypeScript on the fly. */
async function importModule(path: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(path).href
  if (!TYPESCRIPT.test(path)) return (await import(url)) as Record<string, unknown>
  const { tsImport } = await import('tsx/esm/api')
  return (await tsImport(url, import.meta.url)) as Record<string, unknown>
}

/** The definitions among a module's exports that `is` recognises: direct, in an exported array, or on a CommonJS `module.exports`. */
function defsOf<T>(namespace: Record<string, unknown>, is: (value: unknown) => value is T): T[] {
  const found = new Set<T>()
  const collect = (values: readonly unknown[]): void => {
    for (const value of values) {
      if (is(value)) found.add(value)
      else if (Array.isArray(value)) for (const item of value) if (is(item)) found.add(item)
    }
  }
  collect(Object.values(namespace))
  const cjsExports = namespace.default
  if (typeof cjsExports === 'object' && cjsExports !== null && !Array.isArray(cjsExports) && !is(cjsExports)) collect(Object.values(cjsExports))
  return [...found]
}

/** Imports `module` (a path; TypeScript works) and returns every job definition it exports. */
export async function loadJobModule(module: string): Promise<JobDef[]> {
  return (await loadActorModule(module)).jobs
}

/** Imports `module` and returns the job and entity definitions it exports (at least one of either). */
export async function loadActorModule(module: string): Promise<{ jobs: JobDef[]; entities: AnyEntityDef[] }> {
  let namespace: Record<string, unknown>
  try {
    namespace = await importModule(resolve(module))
  } catch (error) {
    throw new ConfigError(`cannot load job module ${module}: ${(error as Error).message}`)
  }
  const defs = defsOf(namespace, isJobDef)
  const entities = defsOf(namespace, isEntityDef)
  if (defs.length === 0 && entities.length === 0) throw new ConfigError(`${module} exports no job definitions (build them with defineJob) or entity types (defineEntity)`)
  const entityTypes = new Set<string>()
  for (const def of entities) {
    if (entityTypes.has(def.type)) throw new ConfigError(`${module} defines entity type ${def.type} twice`)
    entityTypes.add(def.type)
  }
  const types = new Set<string>()
  for (const def of defs) {
    if (types.has(def.type)) throw new ConfigError(`${module} defines job type ${def.type} twice`)
    types.add(def.type)
  }
  return { jobs: defs, entities }
}
