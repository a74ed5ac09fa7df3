/**
 * The `distributex` executable and the actor modules that tests hand to the processes they start.
 *
 * `npm test` (test/run.mjs) compiles the whole tree once into test/artifacts/build and names that
 * directory in DX_TEST_BUILD. Peers and CLI runs then start from the built JavaScript, as an
 * installed package does: about 1.4 CPU s a start instead of 4 through tsx, which over the suite's
 * hundreds of processes was most of its CPU. A test file run on its own (`npx tsx --test ...`)
 * starts the sources through tsx and needs no build.
 */
import { existsSync } from 'node:fs'
import { join, relative } from 'node:path'
import { sourceDir } from './paths.js'

const ROOT = join(sourceDir(import.meta.dirname), '..', '..')
const BUILD = process.env['DX_TEST_BUILD']

/** The executable the tests run. */
export const BIN = join(BUILD ?? ROOT, 'src', 'cli', 'bin.mjs')

/**
 * The module at `source` (a .ts file of this checkout) as the started processes should load it: its
 * compiled .js in the build when there is one, so it shares the built runtime instead of pulling
 * the TypeScript sources in through tsx.
 */
export function fixture(source: string): string {
  if (!existsSync(source)) throw new Error(`no fixture at ${source}`)
  if (BUILD === undefined) return source
  const built = join(BUILD, relative(ROOT, source)).replace(/\.ts$/, '.js')
  if (!existsSync(built)) throw new Error(`${source} is not in the build at ${BUILD}: test/run.mjs builds the tree it tests`)
  return built
}
