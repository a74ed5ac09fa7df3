// The assertion audit (issue 17, item 5): every `assert(condition, message)` call in src/, actors/
// and protocols/, and whether some test trips it. The link between an assertion and its test is the
// assertion's key, the longest static piece of its message (all of it for a plain string; the
// longest text between the `${...}` of a template): a test trips the assertion when it has an
// `assert.throws` or `assert.rejects` whose expected error is an object literal naming
// AssertionFailure (`name: 'AssertionFailure'` or `code: 'ERR_ASSERTION'`) with a `message` (string
// or regular expression) that contains the key. So a grep for the message finds the test, and the
// test shows that this assertion, not another one, stopped the call. Keys must be unique (none
// inside another) and a test's expected message may hold only one, or one test would count for two.
// Run: npx tsx test/architecture/assertions.ts (lists every assertion and its tripping test).
import { readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import ts from 'typescript'
import { ROOT, sources } from './layers.js'

/** Where the assertions live, and where their tests do. */
const CODE = ['src', 'actors', 'protocols']
const TESTS = 'test'

/** A repository-relative path and its text. */
export interface SourceFile {
  readonly path: string
  readonly text: string
}

/** One `assert(...)` call. */
export interface Assertion {
  readonly where: string
  /** The longest static piece of the message, trimmed; undefined when the message is not a literal. */
  readonly key: string | undefined
}

/** One expectation in a test that a call throws AssertionFailure with a message. */
export interface Trip {
  readonly where: string
  /** The message expected, with a regular expression's escapes (`\(`) read as the characters. */
  readonly message: string
}

/** Keys shorter than this say too little to name one assertion. */
const KEY_MIN_CHARS = 8

const parse = (file: SourceFile): ts.SourceFile => ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true)
const lineOf = (file: ts.SourceFile, node: ts.Node): number => file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1

/** The longest static piece of a message expression, or undefined when it is not a string or template literal. */
export function messageKey(node: ts.Expression): string | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text.trim()
  if (!ts.isTemplateExpression(node)) return undefined
  const pieces = [node.head.text, ...node.templateSpans.map((s) => s.literal.text)].map((p) => p.trim())
  return pieces.reduce((a, b) => (b.length > a.length ? b : a))
}

/** Every `assert(condition, message)` call of `file` (the helper of src/assert.ts). */
export function findAssertions(file: SourceFile): Assertion[] {
  if (!file.text.includes('assert(')) return []
  const tree = parse(file)
  const found: Assertion[] = []
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'assert') {
      const message = node.arguments[1]
      found.push({ where: `${file.path}:${lineOf(tree, node)}`, key: message === undefined ? undefined : messageKey(message) })
    }
    ts.forEachChild(node, visit)
  }
  visit(tree)
  return found
}

/** The text a string or regular-expression literal expects, or undefined for anything else. */
function expectedText(node: ts.Expression): string | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text
  if (!ts.isRegularExpressionLiteral(node)) return undefined
  const source = node.text.slice(1, node.text.lastIndexOf('/'))
  return source.replace(/\\([^A-Za-z0-9])/g, '$1')
}

/** The properties of an object literal whose values are string or regular-expression literals. */
function literalProperties(node: ts.ObjectLiteralExpression): Map<string, string> {
  const found = new Map<string, string>()
  for (const p of node.properties) {
    if (!ts.isPropertyAssignment(p) || !ts.isIdentifier(p.name)) continue
    const text = expectedText(p.initializer)
    if (text !== undefined) found.set(p.name.text, text)
  }
  return found
}

/** Every `assert.throws(fn, { name: 'AssertionFailure', message })` or `assert.rejects(...)` alike in `file`. */
export function findTrips(file: SourceFile): Trip[] {
  if (!file.text.includes('AssertionFailure') && !file.text.includes('ERR_ASSERTION')) return []
  const tree = parse(file)
  const found: Trip[] = []
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && ['throws', 'rejects'].includes(node.expression.name.text)) {
      const expected = node.arguments[1]
      if (expected !== undefined && ts.isObjectLiteralExpression(expected)) {
        const props = literalProperties(expected)
        const message = props.get('message')
        if (message !== undefined && (props.get('name') === 'AssertionFailure' || props.get('code') === 'ERR_ASSERTION')) {
          found.push({ where: `${file.path}:${lineOf(tree, node)}`, message })
        }
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(tree)
  return found
}

/** The audit's findings: each assertion with the tests that trip it, and what is wrong. */
export interface Audit {
  readonly assertions: ReadonlyArray<Assertion & { readonly trippedBy: readonly string[] }>
  readonly problems: readonly string[]
}

/** Links the assertions of `code` to the trips of `tests`, and lists every assertion left untripped or unlinkable. */
export function audit(code: readonly SourceFile[], tests: readonly SourceFile[]): Audit {
  const assertions = code.flatMap(findAssertions)
  const trips = tests.flatMap(findTrips)
  const problems: string[] = []
  const linked = assertions.map((a) => {
    if (a.key === undefined) {
      problems.push(`${a.where}: the message is not a string or template literal, so no test can name it`)
      return { ...a, trippedBy: [] }
    }
    const key = a.key
    if (key.length < KEY_MIN_CHARS) problems.push(`${a.where}: the message's longest static piece "${key}" is shorter than ${KEY_MIN_CHARS} characters`)
    for (const b of assertions) {
      if (b !== a && b.key !== undefined && b.key.includes(key)) problems.push(`${a.where}: its key "${key}" is also in the message of ${b.where}; make the messages distinct`)
    }
    const trippedBy = trips.filter((t) => t.message.includes(key)).map((t) => t.where)
    if (trippedBy.length === 0) problems.push(`${a.where}: no test trips "${key}"`)
    return { ...a, trippedBy }
  })
  for (const t of trips) {
    const named = assertions.filter((a) => a.key !== undefined && t.message.includes(a.key)).map((a) => a.where)
    if (named.length > 1) problems.push(`${t.where}: the message expected names ${named.join(' and ')}; expect one assertion's`)
  }
  return { assertions: linked, problems }
}

function read(paths: readonly string[]): SourceFile[] {
  return paths.map((p) => ({ path: relative(ROOT, p).split('\\').join('/'), text: readFileSync(p, 'utf8') }))
}

/** The audit of this repository: the code's assertions against every test file but the audit's own (its synthetic sources). */
export function auditRepository(): Audit {
  const code = read(CODE.flatMap((dir) => sources(join(ROOT, dir))))
  const tests = read(sources(join(ROOT, TESTS))).filter((f) => !/^test\/architecture\/assertions[^/]*$/.test(f.path))
  return audit(code, tests)
}

if (import.meta.filename === resolve(process.argv[1] ?? '')) {
  const { assertions, problems } = auditRepository()
  for (const a of assertions) console.log(`${a.where}  "${a.key}"  ${a.trippedBy.join(', ') || '-'}`)
  const files = new Set(assertions.map((a) => a.where.replace(/:\d+$/, ''))).size
  console.log(`${assertions.length} assertions in ${files} files, ${assertions.filter((a) => a.trippedBy.length > 0).length} tripped by a test`)
  for (const p of problems) console.log(`  ${p}`)
}
