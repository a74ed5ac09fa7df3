// Goal: `distributex init` scaffolds a job project whose files type-check against this
// repository's sources (as `distributex` and `distributex/client`), whose package.json depends on
// this version and runs the peer with --actors ./jobs.ts, and it never overwrites existing files.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { ROOT, typeCheck } from './typecheck.js'
import { BIN } from '../helpers/bin.js'

let dir: string

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dx-init-'))
})

after(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function init(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    return { code: 0, ...(await promisify(execFile)(process.execPath, [BIN, 'init', ...args])) }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

test('init writes a project that type-checks and names the commands to run it', { timeout: 120_000 }, async () => {
  const project = join(dir, 'Word Count')
  const { code, stdout } = await init(project)
  assert.equal(code, 0)
  assert.match(stdout, /npx distributex start --actors \.\/jobs\.ts/)
  assert.deepEqual((await readdir(project)).sort(), ['.gitignore', 'README.md', 'jobs.ts', 'package.json', 'submit.ts', 'tsconfig.json'])
  const pkg = JSON.parse(await readFile(join(project, 'package.json'), 'utf8')) as {
    name: string
    type: string
    dependencies: Record<string, string>
    scripts: Record<string, string>
  }
  const own = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  assert.deepEqual([pkg.name, pkg.type, pkg.dependencies.distributex, pkg.scripts.peer], ['word-count', 'module', `^${own.version}`, 'distributex start --actors ./jobs.ts'])
  const tsconfig = JSON.parse(await readFile(join(project, 'tsconfig.json'), 'utf8')) as { compilerOptions: { module: string; strict: boolean } }
  assert.deepEqual([tsconfig.compilerOptions.module, tsconfig.compilerOptions.strict], ['NodeNext', true])
  const readme = await readFile(join(project, 'README.md'), 'utf8')
  assert.match(readme, /distributex start --actors \.\/jobs\.ts/)
  assert.match(readme, /distributex submit wordcount '\{"text":"to be or not to be"\}' --wait/)
  const snippets = await Promise.all(
    ['jobs.ts', 'submit.ts'].map(async (file) => ({ file, code: await readFile(join(project, file), 'utf8'), where: (line: number) => `${file}:${line}` })),
  )
  assert.deepEqual(typeCheck(snippets), [])
})

test('init refuses to overwrite: nothing is written if any file exists', { timeout: 60_000 }, async () => {
  const project = join(dir, 'taken')
  await init(project)
  await writeFile(join(project, 'jobs.ts'), '// mine\n')
  await rm(join(project, 'submit.ts'))
  const again = await init(project)
  assert.equal(again.code, 1)
  assert.match(again.stderr, /already exist/)
  assert.equal(await readFile(join(project, 'jobs.ts'), 'utf8'), '// mine\n')
  assert.ok(!(await readdir(project)).includes('submit.ts'), 'nothing was written')
  assert.equal((await init(join(dir, 'a'), join(dir, 'b'))).code, 2)
})

test('the type check reports an error in a generated file at its line', { timeout: 120_000 }, () => {
  const errors = typeCheck([
    {
      file: 'jobs.ts',
      code: "import { defineJob } from 'distributex'\nexport const j = defineJob('j', (input: { n: number }) => input.n)\nj.run('x', undefined as never)",
      where: (line) => `jobs.ts:${line}`,
    },
  ])
  assert.equal(errors.length, 1)
  assert.match(errors[0]!, /^jobs\.ts:3: /)
})
