// Goal: `distributex/client` bundles for a browser: the import graph of src/client/ (followed
// through every relative import, type-only ones included) reaches no package (libp2p, kafkajs,
// ioredis, msgpackr, ...) and no Node.js built-in. Method: a static parse of each module's imports
// and exports with the TypeScript scanner, resolving `./x.js` to `./x.ts`.
import assert from 'node:assert/strict'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { test } from 'node:test'
import ts from 'typescript'
import { sourceDir } from '../helpers/paths.js'

const ROOT = join(sourceDir(import.meta.dirname), '..', '..')

/** Every module specifier `source` imports or re-exports (static and dynamic). */
export function specifiers(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName)
}

/** The files reachable from `entries`, and every non-relative specifier with the file that uses it. */
function walk(entries: string[]): { files: Set<string>; outside: string[] } {
  const files = new Set<string>()
  const outside: string[] = []
  const queue = [...entries]
  while (queue.length > 0) {
    const file = queue.pop()!
    if (files.has(file)) continue
    files.add(file)
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) {
        outside.push(`${relative(ROOT, file)} imports ${spec}`)
        continue
      }
      const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'))
      assert.ok(existsSync(target), `${relative(ROOT, file)}: cannot resolve ${spec}`)
      queue.push(target)
    }
  }
  return { files, outside }
}

test('the client module graph imports no package and no Node.js built-in', () => {
  const dir = join(ROOT, 'src', 'client')
  const entries = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f))
  const { files, outside } = walk(entries)
  assert.ok(files.has(join(dir, 'index.ts')) && files.has(join(ROOT, 'src', 'jobs', 'errors.ts')), 'the walk follows imports')
  assert.deepEqual(outside, [])
  const used = [...files].flatMap((file) => nodeGlobals(file).map((name) => `${relative(ROOT, file)} uses ${name}`))
  assert.deepEqual(used, [])
})

const NODE_GLOBALS = new Set(['require', 'process', 'Buffer', '__dirname', '__filename', 'global', 'setImmediate'])

/** Node.js-only globals the code of `file` names (comments and member names aside), and import.meta. */
function nodeGlobals(file: string): string[] {
  return nodeGlobalsOf(readFileSync(file, 'utf8'))
}

function nodeGlobalsOf(text: string): string[] {
  const source = ts.createSourceFile('x.ts', text, ts.ScriptTarget.ES2022, true)
  const found: string[] = []
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && NODE_GLOBALS.has(node.text) && !(ts.isPropertyAccessExpression(node.parent) && node.parent.name === node)) found.push(node.text)
    if (ts.isMetaProperty(node)) found.push('import.meta')
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

test('the walker sees every kind of import', () => {
  assert.deepEqual(nodeGlobalsOf("const a = process.env.X; const b = Buffer.from(''); x.process = 1; // require('y')"), ['process', 'Buffer'])
  const source = ["import a from 'libp2p'", "import type { B } from 'kafkajs'", "export * from 'node:fs'", "export { c } from './c.js'", "const d = await import('ioredis')"].join(
    '\n',
  )
  assert.deepEqual(specifiers(source).sort(), ['./c.js', 'ioredis', 'kafkajs', 'libp2p', 'node:fs'])
})
