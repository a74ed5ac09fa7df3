// Goal: outside the real environment binding (src/env/real.ts and the production adapters under
// src/adapters/), no code in src/, actors/ or protocols/ reads real time, schedules real timers or
// draws real randomness. Method: walk each file's TypeScript syntax tree and flag forbidden uses.
import assert from 'node:assert/strict'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { test } from 'node:test'
import ts from 'typescript'
import { sourceDir } from '../helpers/paths.js'

const ROOT = join(sourceDir(import.meta.dirname), '..', '..')
const SCANNED = ['src', 'actors', 'protocols']
// src/client/platform.ts: the application-side client's binding of real time (it runs outside the runtime).
const ALLOWED = [/^src\/env\/real\.ts$/, /^src\/adapters\//, /^src\/client\/platform\.ts$/]

const FORBIDDEN_MEMBERS = new Set([
  'Date.now',
  'performance.now',
  'Math.random',
  'process.hrtime',
  'crypto.randomUUID',
  'crypto.randomBytes',
  'crypto.getRandomValues',
  'AbortSignal.timeout',
])
const FORBIDDEN_GLOBALS = new Set(['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate'])
const FORBIDDEN_MODULES = new Set(['node:timers', 'timers', 'node:timers/promises', 'timers/promises', 'node:perf_hooks', 'perf_hooks'])
const FORBIDDEN_CRYPTO = new Set(['randomBytes', 'randomUUID', 'randomInt', 'randomFill', 'randomFillSync', 'getRandomValues', 'webcrypto'])

/** Returns `line: what` for every forbidden use in `source`. */
export function findViolations(fileName: string, source: string): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.ES2022, true)
  const found: string[] = []
  const report = (node: ts.Node, what: string): void => {
    found.push(`${fileName}:${file.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${what}`)
  }
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node)) {
      const text = `${node.expression.getText(file)}.${node.name.text}`
      if (FORBIDDEN_MEMBERS.has(text)) report(node, text)
    } else if (ts.isNewExpression(node) && node.expression.getText(file) === 'Date' && (node.arguments?.length ?? 0) === 0) {
      report(node, 'new Date()')
    } else if (ts.isIdentifier(node) && FORBIDDEN_GLOBALS.has(node.text)) {
      const parent = node.parent
      const isMemberName =
        (ts.isPropertyAccessExpression(parent) && parent.name === node) || ts.isPropertyAssignment(parent) || ts.isMethodDeclaration(parent) || ts.isPropertySignature(parent)
      if (!isMemberName) report(node, node.text)
    } else if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const from = node.moduleSpecifier.text
      if (FORBIDDEN_MODULES.has(from)) report(node, `import from ${from}`)
      if (from === 'node:crypto' || from === 'crypto') {
        const bindings = node.importClause?.namedBindings
        if (bindings === undefined || ts.isNamespaceImport(bindings)) report(node, `import * from ${from}`)
        else for (const el of bindings.elements) if (FORBIDDEN_CRYPTO.has((el.propertyName ?? el.name).text)) report(el, `${from}.${(el.propertyName ?? el.name).text}`)
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(file)
  return found
}

function sources(dir: string): string[] {
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return []
  }
  return entries.flatMap((e) => {
    const path = join(dir, e)
    return statSync(path).isDirectory() ? sources(path) : e.endsWith('.ts') ? [path] : []
  })
}

test('runtime code uses only the injected environment for time, timers and randomness', () => {
  const violations: string[] = []
  let scanned = 0
  for (const dir of SCANNED) {
    for (const path of sources(join(ROOT, dir))) {
      const rel = relative(ROOT, path)
      if (ALLOWED.some((re) => re.test(rel))) continue
      scanned++
      violations.push(...findViolations(rel, readFileSync(path, 'utf8')))
    }
  }
  assert.ok(scanned > 10, `scanned ${scanned} files`)
  assert.deepEqual(violations, [])
})

test('the scanner flags each forbidden use and ignores look-alikes', () => {
  const bad = [
    'const a = Date.now()',
    'const b = new Date()',
    'const c = Math.random()',
    'setTimeout(() => {}, 1)',
    'const t = setInterval',
    'setImmediate(f)',
    'performance.now()',
    "import { randomBytes } from 'node:crypto'",
    "import * as c from 'crypto'",
    "import { setTimeout as s } from 'node:timers/promises'",
    'AbortSignal.timeout(5)',
    'process.hrtime.bigint()',
  ]
  for (const line of bad) assert.ok(findViolations('x.ts', line).length >= 1, line)
  const fine = [
    'const d = new Date(ts)',
    'env.timers.schedule(0, f)',
    'const o = { setTimeout: 1 }',
    'x.setTimeout(1)',
    "import { createHash } from 'node:crypto'",
    'random.next()',
  ]
  for (const line of fine) assert.deepEqual(findViolations('x.ts', line), [], line)
})
