// The layers of the code and the rule that imports go down them, shared by the import test
// (imports.test.ts) and the shape counts (shape.ts): which layer a path is in, what each layer may
// import, and every import of a file that goes up or sideways.
import { readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'
import { sourceDir } from '../helpers/paths.js'

export const ROOT = join(sourceDir(import.meta.dirname), '..', '..')
export const SCANNED = ['protocols', 'src', 'actors', 'sim']

export type Layer = 'protocols' | 'runtime' | 'internal' | 'adapters' | 'actors' | 'assembly' | 'entry' | 'sim' | 'outside'

/** The layer of a repository-relative path (a file, or the target of an import). */
export function layerOf(path: string): Layer {
  if (path.startsWith('protocols/')) return 'protocols'
  if (path.startsWith('actors/')) return 'actors'
  if (path.startsWith('sim/')) return 'sim'
  if (path.startsWith('src/adapters/')) return 'adapters'
  if (path.startsWith('src/node/') || path.startsWith('src/cli/')) return 'assembly'
  if (/^src\/index\.[cm]?[jt]s$/.test(path)) return 'entry'
  if (/^src\/internal\.[cm]?[jt]s$/.test(path)) return 'internal'
  if (path.startsWith('src/')) return 'runtime'
  return 'outside'
}

/** What each layer may import; everything else is an import that goes up or sideways. */
const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  protocols: ['protocols'],
  runtime: ['protocols', 'runtime'],
  // src/internal.ts: the one entry through which the system actors reach the runtime.
  internal: ['protocols', 'runtime'],
  // Each adapter binds a port on its own: an import into another adapter's folder is flagged below.
  adapters: ['protocols', 'runtime', 'adapters'],
  actors: ['protocols', 'internal', 'actors'],
  assembly: ['protocols', 'runtime', 'internal', 'adapters', 'actors', 'assembly'],
  // The package's public API is the runtime's and the assembly's: the actors and adapters it wires stay behind it.
  entry: ['protocols', 'runtime', 'assembly'],
  sim: ['protocols', 'runtime', 'internal', 'adapters', 'actors', 'assembly', 'entry', 'sim'],
  outside: [],
}

/** Known exceptions, each `from -> to` as repository-relative paths without extension, with why it may stay. */
export const ALLOWED: ReadonlyArray<{ readonly from: string; readonly to: string; readonly why: string }> = [
  // The `distributex sim` command runs the simulator's own CLI; a dynamic import, so a node never loads sim/ otherwise.
  { from: 'src/cli/main', to: 'sim/cli', why: 'the CLI hosts `distributex sim`' },
  // Type-only: the hub summarises the /status document the node's HTTP API serves. The fix is to
  // move StatusDocument below src/node/; left alone while src/dashboard/ is reworked elsewhere.
  { from: 'src/dashboard/hub', to: 'src/node/http-api', why: 'type of the /status document' },
]

/** The repository-relative path of a module specifier's target, or undefined for a package. */
export function target(fromPath: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined
  return relative(ROOT, resolve(ROOT, dirname(fromPath), specifier))
    .split('\\')
    .join('/')
}

export function withoutExtension(path: string): string {
  return path.replace(/\.[cm]?[jt]s$/, '')
}

/** Returns `file:line: layer -> layer (specifier)` for every import of `source` that its layer may not make. */
export function findViolations(fromPath: string, source: string): string[] {
  const from = layerOf(fromPath)
  const found: string[] = []
  for (const ref of ts.preProcessFile(source, true, true).importedFiles) {
    const to = target(fromPath, ref.fileName)
    if (to === undefined) continue
    const toLayer = layerOf(to)
    const sideways = from === 'adapters' && toLayer === 'adapters' && to.split('/')[2] !== fromPath.split('/')[2]
    if (MAY_IMPORT[from].includes(toLayer) && !sideways) continue
    if (ALLOWED.some((a) => a.from === withoutExtension(fromPath) && a.to === withoutExtension(to))) continue
    const line = source.slice(0, ref.pos).split('\n').length
    found.push(`${fromPath}:${line}: ${from} -> ${sideways ? 'another adapter' : toLayer} (${ref.fileName})`)
  }
  return found
}

/** Every source file below `dir`, declarations and build output (test/artifacts) excluded. */
export function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) return entry === 'artifacts' ? [] : sources(path)
    return /\.[cm]?[jt]s$/.test(entry) && !entry.endsWith('.d.ts') ? [path] : []
  })
}
