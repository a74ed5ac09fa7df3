/**
 * Where a test's own files are. `npm test` runs the suite compiled into test/artifacts/build (see
 * test/run.mjs), so a compiled test's `import.meta.dirname` lies inside that build, where there are
 * no fixtures, README or TypeScript sources; tests name those in the checkout, whichever copy runs.
 */
import { join, sep } from 'node:path'

const BUILD = `${sep}${join('test', 'artifacts', 'build')}`

/** The checkout's directory that `dir` (an `import.meta.dirname`) stands for: `dir` itself when the sources run. */
export function sourceDir(dir: string): string {
  const at = dir.lastIndexOf(BUILD)
  return at < 0 || (dir.length > at + BUILD.length && dir[at + BUILD.length] !== sep) ? dir : dir.slice(0, at) + dir.slice(at + BUILD.length)
}

/** The checkout's root directory. */
export const ROOT = join(sourceDir(import.meta.dirname), '..', '..')
