// Goal: the README's examples are true. Every ```ts block type-checks against this repository's
// sources as a project that depends on DistributeX would see them (a block headed `// name.ts` is
// that file, which later blocks import), and every `distributex` command and flag its shell blocks
// use exists (`distributex <command> --help` names it), as does every `npm` script they run.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { codeBlocks, ROOT, typeCheck } from './typecheck.js'
import { BIN } from '../helpers/bin.js'

const README = readFileSync(join(ROOT, 'README.md'), 'utf8')

test('every ts block of the README type-checks', { timeout: 120_000 }, () => {
  const blocks = codeBlocks(README).filter((b) => b.lang === 'ts')
  assert.ok(blocks.length >= 3, `found ${blocks.length} ts blocks`)
  const snippets = blocks.map((b) => ({
    file: /^\/\/ ([\w-]+\.ts)\s*$/m.exec(b.code.split('\n')[0]!)?.[1] ?? `block-${b.line}.ts`,
    code: b.code,
    where: (line: number) => `README.md:${b.line + line - 1}`,
  }))
  assert.deepEqual(typeCheck(snippets), [])
})

/** Shell commands of the sh blocks: continuation lines joined, split at ; && || | and comments cut. */
function shellCommands(): string[] {
  return codeBlocks(README)
    .filter((b) => b.lang === 'sh')
    .flatMap((b) => b.code.replace(/\\\n\s*/g, ' ').split('\n'))
    .map((line) => line.replace(/(^|\s)#.*$/, ''))
    .flatMap((line) => line.split(/;|&&|\|\|?/))
    .map((command) => command.trim())
    .filter((command) => command !== '')
}

test('every distributex command and flag in the README shell blocks exists', { timeout: 120_000 }, async () => {
  const uses = new Map<string, Set<string>>()
  for (const command of shellCommands()) {
    const match = /(?:^|\s)distributex\s+([a-z][a-z-]*)(.*)$/.exec(command)
    if (match === null) continue
    const flags = uses.get(match[1]!) ?? new Set<string>()
    for (const flag of match[2]!.matchAll(/(?:^|[\s[])(--[a-z][a-z-]*)/g)) flags.add(flag[1]!)
    uses.set(match[1]!, flags)
  }
  assert.ok(uses.has('start') && uses.has('submit') && uses.has('sim'), `commands found: ${[...uses.keys()].join(', ')}`)
  const missing: string[] = []
  await Promise.all(
    [...uses].map(async ([command, flags]) => {
      const { stdout } = await promisify(execFile)(process.execPath, [BIN, command, '--help'])
      if (/^unknown command/.test(stdout)) missing.push(`distributex ${command}`)
      for (const flag of flags) if (!new RegExp(`${flag}(?![a-z-])`).test(stdout)) missing.push(`distributex ${command} ${flag}`)
    }),
  )
  assert.deepEqual(missing.sort(), [])
})

test('every npm script the README runs exists', () => {
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts
  // npm's own commands; anything else (start and test included) must be a script of package.json.
  const BUILT_IN = new Set(['ci', 'install', 'pack'])
  const used = shellCommands().flatMap((c) => [...c.matchAll(/(?:^|\s)npm\s+(?:run\s+)?([a-z][\w:-]*)/g)].map((m) => m[1]!))
  assert.ok(used.includes('start'), `npm commands found: ${used.join(', ')}`)
  for (const name of used) if (!BUILT_IN.has(name)) assert.ok(name in scripts, `npm ${name}: no such script in package.json`)
})
