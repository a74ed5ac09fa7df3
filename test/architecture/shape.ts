// The shape counts issue 17 asks for, of this repository or of the tree named (say an older
// commit's, from `git archive`): imports that go up or sideways across the layers (back-arrows, by
// the rule imports.test.ts enforces, with the exceptions it allows counted apart), the longest
// functions of src/, actors/ and protocols/ in lines, and the `assert` calls there.
// Run: npx tsx test/architecture/shape.ts [root] [--top N]
// Pairs of repeated code are counted by the `duplicates` command, where a developer has it.
import { readFileSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import ts from 'typescript'
import { ALLOWED, findViolations, ROOT, SCANNED, sources, target, withoutExtension } from './layers.js'

/** The layers whose functions and assertions are counted. */
const CODE = ['src', 'actors', 'protocols']

/** A function-like node of `file`, with its length in lines. */
export interface FunctionLength {
  readonly where: string
  readonly name: string
  readonly lines: number
}

/** The name a function goes by: its own, or that of the variable, property or method it is assigned to. */
function nameOf(node: ts.SignatureDeclaration): string {
  if (ts.isConstructorDeclaration(node)) return 'constructor'
  if (node.name !== undefined && (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name))) return node.name.text
  const parent = node.parent
  if ((ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) && ts.isIdentifier(parent.name)) return parent.name.text
  return '(anonymous)'
}

/** Every function of `source` (declarations, methods, accessors, arrows, expressions), nested ones too. */
export function functionLengths(path: string, source: string): FunctionLength[] {
  const file = ts.createSourceFile(path, source, ts.ScriptTarget.Latest, true)
  const found: FunctionLength[] = []
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const start = file.getLineAndCharacterOfPosition(node.getStart(file)).line
      const end = file.getLineAndCharacterOfPosition(node.getEnd()).line
      found.push({ where: `${path}:${start + 1}`, name: nameOf(node), lines: end - start + 1 })
    }
    ts.forEachChild(node, visit)
  }
  visit(file)
  return found
}

/** The calls of `assert(...)` and `assert.x(...)` in `source`. */
export function assertCalls(path: string, source: string): number {
  const file = ts.createSourceFile(path, source, ts.ScriptTarget.Latest, true)
  let calls = 0
  const named = (e: ts.Expression): boolean => ts.isIdentifier(e) && e.text === 'assert'
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && (named(node.expression) || (ts.isPropertyAccessExpression(node.expression) && named(node.expression.expression)))) calls++
    ts.forEachChild(node, visit)
  }
  visit(file)
  return calls
}

function typescriptFiles(root: string, dir: string): string[] {
  const path = join(root, dir)
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory() !== true) return []
  return sources(path).filter((p) => /\.[cm]?ts$/.test(p))
}

/** The counts for the tree at `root`. */
export function shape(root: string, top = 10): { backArrows: string[]; allowed: number; longest: FunctionLength[]; asserts: number; assertFiles: number } {
  const rel = (path: string): string => relative(root, path).split('\\').join('/')
  const backArrows: string[] = []
  let allowed = 0
  for (const dir of SCANNED) {
    for (const path of typescriptFiles(root, dir)) {
      const from = rel(path)
      const text = readFileSync(path, 'utf8')
      backArrows.push(...findViolations(from, text))
      for (const ref of ts.preProcessFile(text, true, true).importedFiles) {
        const to = target(from, ref.fileName)
        if (to !== undefined && ALLOWED.some((a) => a.from === withoutExtension(from) && a.to === withoutExtension(to))) allowed++
      }
    }
  }
  const lengths: FunctionLength[] = []
  let asserts = 0
  let assertFiles = 0
  for (const dir of CODE) {
    for (const path of typescriptFiles(root, dir)) {
      const text = readFileSync(path, 'utf8')
      lengths.push(...functionLengths(rel(path), text))
      const n = assertCalls(rel(path), text)
      asserts += n
      if (n > 0) assertFiles++
    }
  }
  lengths.sort((a, b) => b.lines - a.lines || a.where.localeCompare(b.where))
  return { backArrows, allowed, longest: lengths.slice(0, top), asserts, assertFiles }
}

if (import.meta.filename === resolve(process.argv[1] ?? '')) {
  const args = process.argv.slice(2)
  const topAt = args.indexOf('--top')
  const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 10
  const root = args[0] ?? ROOT
  const s = shape(root, top)
  console.log(`back-arrows: ${s.backArrows.length} (allowed exceptions: ${s.allowed})`)
  for (const v of s.backArrows) console.log(`  ${v}`)
  console.log(`longest functions in ${CODE.join('/, ')}/ (lines):`)
  for (const f of s.longest) console.log(`  ${String(f.lines).padStart(4)}  ${f.name}  ${f.where}`)
  console.log(`assert calls in ${CODE.join('/, ')}/: ${s.asserts} in ${s.assertFiles} files`)
}
