// Goal: the package as a user gets it works. `npm pack` (which builds) yields one tarball; fresh
// projects install it from that file and use it the way the README says: a CommonJS JavaScript
// project (npm init -y) and an ES module one require/import the API and run `distributex start
// --actors <their jobs module>` (TypeScript in the CommonJS project, where a registered TypeScript
// loader used to fail on require(esm)), then submit a job with the CLI and get its result; a
// TypeScript project type-checks and runs against the shipped declarations under `module: nodenext`
// and type-checks under `moduleResolution: bundler`. Slow (a build and three installs): run it when
// the packaging changes.
import assert from 'node:assert/strict'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { promisify } from 'node:util'
import { freePort, waitFor } from '../helpers/peers.js'
import { sourceDir } from '../helpers/paths.js'

const ROOT = join(sourceDir(import.meta.dirname), '..', '..')
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
/** The children get a clean environment: no loader from this test process, no npm settings from an enclosing `npm test`. */
const ENV = Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'NODE_OPTIONS' && !/^npm_/i.test(key)))

let dir: string
let tarball: string
const peers: ChildProcess[] = []

interface Run {
  code: number
  stdout: string
  stderr: string
}

/** Runs a command to completion; resolves with its exit code and output, whatever the code. */
async function run(file: string, args: readonly string[], cwd: string, timeoutMs = 120_000): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(file, [...args], { cwd, env: ENV, timeout: timeoutMs, maxBuffer: 16 << 20 })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number | string; stdout?: string; stderr?: string; message: string }
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: `${e.stderr ?? ''}${e.message}` }
  }
}

/** Runs a command that must succeed and returns its stdout. */
async function ok(file: string, args: readonly string[], cwd: string, timeoutMs?: number): Promise<string> {
  const result = await run(file, args, cwd, timeoutMs)
  assert.equal(result.code, 0, `${file} ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`)
  return result.stdout
}

/** A fresh project made with `npm init -y`, with extra package.json fields and files, and the tarball installed. */
async function project(name: string, fields: Record<string, string>, files: Record<string, string>): Promise<string> {
  const path = join(dir, name)
  await mkdir(path)
  await ok('npm', ['init', '-y'], path)
  for (const [key, value] of Object.entries(fields)) await ok('npm', ['pkg', 'set', `${key}=${value}`], path)
  for (const [file, text] of Object.entries(files)) await writeFile(join(path, file), text)
  await ok('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], path)
  return path
}

const JOBS_TS = `import { defineJob, type JobContext } from 'distributex'

export const double = defineJob('double', async (input: { n: number }, ctx: JobContext) => {
  ctx.progress(0.5, 'halfway')
  return { doubled: input.n * 2 }
}, { concurrency: 8 })
`

let cjs: Promise<string>
let esm: Promise<string>
let ts: Promise<string>

before(
  async () => {
    dir = await mkdtemp(join(tmpdir(), 'dx-package-'))
    const packed = JSON.parse(await ok('npm', ['pack', '--pack-destination', dir, '--json', '--loglevel=error'], ROOT, 300_000)) as Array<{ filename: string }>
    tarball = join(dir, packed[0]!.filename)
    // Installs run side by side; each test awaits its own project, so a failed install fails only its tests.
    cjs = project(
      'cjs',
      {},
      {
        'jobs.ts': JOBS_TS,
        'more.js': `const { defineJob } = require('distributex')\nexports.shout = defineJob('shout', async (input) => String(input).toUpperCase())\n`,
        'use.js': `const { defineJob, startNode } = require('distributex')\nconst { runSimulation } = require('distributex/sim')\nconst { connect } = require('distributex/client')\nconsole.log(JSON.stringify([typeof defineJob, typeof startNode, typeof runSimulation, typeof connect]))\n`,
      },
    )
    esm = project(
      'esm',
      { type: 'module' },
      {
        'jobs.js': `import { defineJob } from 'distributex'\nexport const shout = defineJob('shout', async (input) => String(input).toUpperCase())\n`,
        'more.ts': JOBS_TS,
        'use.js': `import { defineJob, startNode } from 'distributex'\nimport { runSimulation } from 'distributex/sim'\nimport { connect } from 'distributex/client'\nconsole.log(JSON.stringify([typeof defineJob, typeof startNode, typeof runSimulation, typeof connect]))\n`,
      },
    )
    ts = project('ts', {}, {})
    // Marked handled here; the test that awaits a project still sees its rejection.
    for (const p of [cjs, esm, ts]) void p.catch(() => {})
  },
  { timeout: 420_000 },
)

after(async () => {
  for (const child of peers) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

test('the tarball holds the build, the README and package.json, and nothing else', { timeout: 60_000 }, async () => {
  const entries = (await ok('tar', ['tzf', tarball], dir)).trim().split('\n')
  const outside = entries.filter((e) => !e.startsWith('package/dist/') && !['package/package.json', 'package/README.md', 'package/LICENSE'].includes(e))
  assert.deepEqual(outside, [])
  for (const needed of [
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'dist/src/cjs/index.cjs',
    'dist/sim/index.js',
    'dist/sim/index.d.ts',
    'dist/src/client/index.js',
    'dist/src/client/index.d.ts',
    'dist/src/cjs/client.cjs',
    'dist/src/cli/bin.mjs',
    'dist/src/cli/main.js',
    'dist/src/dashboard/assets/app.js',
    'dist/src/monitoring/rules.js',
  ]) {
    assert.ok(entries.includes(`package/${needed}`), `${needed} is missing from the tarball`)
  }
  assert.ok(!entries.some((e) => e.endsWith('.ts') && !e.endsWith('.d.ts')), 'TypeScript sources shipped')
})

/** Starts `distributex start` from the project's installed bin, waits until it leads, and returns its HTTP address. */
async function startPeer(cwd: string, actors: readonly string[]): Promise<{ http: string; child: ChildProcess; output: string[] }> {
  const [p2p, httpPort] = [await freePort(), await freePort()]
  const http = `127.0.0.1:${httpPort}`
  const args = [
    'start',
    '--listen',
    `/ip4/127.0.0.1/tcp/${p2p}`,
    '--http',
    http,
    '--data-dir',
    join(cwd, 'data'),
    '--job-log',
    `file:${join(cwd, 'joblog')}`,
    '--log-level',
    'warn',
  ]
  for (const module of actors) args.push('--actors', module)
  const child = spawn(join(cwd, 'node_modules', '.bin', 'distributex'), args, { cwd, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] })
  peers.push(child)
  const output: string[] = []
  child.stdout.on('data', (data: Buffer) => output.push(data.toString()))
  child.stderr.on('data', (data: Buffer) => output.push(data.toString()))
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`distributex start exited with ${child.exitCode}:\n${output.join('')}`)
      try {
        const res = await fetch(`http://${http}/status`, { signal: AbortSignal.timeout(2000) })
        return res.ok ? ((await res.json()) as { leading: boolean }).leading : false
      } catch {
        return false
      }
    },
    (leading) => leading,
    60_000,
    'the peer to lead',
  )
  return { http, child, output }
}

/** `npx distributex submit <type> <input> --wait` in the project; returns the job's value. */
async function submit(cwd: string, http: string, type: string, input: string): Promise<unknown> {
  const reply = JSON.parse(await ok('npx', ['--no', 'distributex', 'submit', type, input, '--wait', '--http', http], cwd)) as { ok: boolean; value: unknown }
  assert.equal(reply.ok, true, JSON.stringify(reply))
  return reply.value
}

/** SIGTERM: the peer leaves gracefully and exits 0. */
async function stopPeer(peer: { child: ChildProcess; output: string[] }): Promise<void> {
  const exited = new Promise<number | null>((resolve) => peer.child.once('exit', (code) => resolve(code)))
  peer.child.kill('SIGTERM')
  assert.equal(await exited, 0, peer.output.join(''))
}

const TS_MAIN = `import { createActorSystem, defineActor, defineJob, realEnvironment, type Ask, type JobContext } from 'distributex'
import { SCENARIOS } from 'distributex/sim'
import { connect } from 'distributex/client'

type Greeter = Ask<{ type: 'greet'; name: string }, string>
const greeter = defineActor<Greeter>({ setup: () => ({ greet: (msg) => \`hello, \${msg.name}\` }) })

export const square = defineJob('square', async (n: number, ctx: JobContext) => {
  ctx.progress(1)
  return n * n
})
/** Never called: the directive fails the compile unless the declarations are real types, not any. */
export function misuse(): void {
  // @ts-expect-error concurrency is a number
  defineJob('bad', async () => 1, { concurrency: 'many' })
  // @ts-expect-error the client takes square's input type from its definition
  void connect<{ square: typeof square }>({ peers: ['http://127.0.0.1:7401'] }).submit('square', 'not a number')
}

async function main(): Promise<void> {
  const system = createActorSystem({ env: realEnvironment({ logLevel: 'error' }) })
  const ref = system.spawn(greeter, { name: 'greeter' })
  const reply = await ref.ask({ type: 'greet', name: 'Ada' }, { timeoutMs: 5000 })
  console.log(JSON.stringify([reply, square.type, Object.keys(SCENARIOS).length > 0]))
  await system.shutdown()
}
void main()
`

// The projects' tests run side by side: each starts as soon as its own install is done.
describe('projects using the installed package', { concurrency: true }, () => {
  test('a CommonJS project requires the API and runs a TypeScript and a JavaScript job module', { timeout: 400_000 }, async () => {
    const path = await cjs
    assert.deepEqual(JSON.parse(await ok('node', ['use.js'], path)), ['function', 'function', 'function', 'function'])
    // `npx distributex --version` is npm's own --version; `--` hands it to the command.
    assert.match(await ok('npx', ['--no', '--', 'distributex', '--version'], path), /^distributex \d+\.\d+\.\d+ /)
    const peer = await startPeer(path, ['./jobs.ts', './more.js'])
    assert.deepEqual(await submit(path, peer.http, 'double', '{"n":21}'), { doubled: 42 })
    assert.equal(await submit(path, peer.http, 'shout', '"hi"'), 'HI')
    await stopPeer(peer)
  })

  test('an ES module project imports the API and runs a JavaScript and a TypeScript job module', { timeout: 400_000 }, async () => {
    const path = await esm
    assert.deepEqual(JSON.parse(await ok('node', ['use.js'], path)), ['function', 'function', 'function', 'function'])
    const peer = await startPeer(path, ['./jobs.js', './more.ts'])
    assert.equal(await submit(path, peer.http, 'shout', '"hi"'), 'HI')
    assert.deepEqual(await submit(path, peer.http, 'double', '{"n":4}'), { doubled: 8 })
    // The installed package serves its dashboard: the page, its script and the uPlot it depends on.
    for (const [route, text] of [
      ['/', 'DistributeX dashboard'],
      ['/dashboard/app.js', '/dashboard/events'],
      ['/dashboard/uplot.js', 'uPlot'],
    ]) {
      const res = await fetch(`http://${peer.http}${route}`)
      assert.equal(res.status, 200, route)
      assert.ok((await res.text()).includes(text!), `${route} serves ${text}`)
    }
    assert.match(await ok('npx', ['--no', '--', 'distributex', 'monitoring', 'rules'], path), /DistributeXNoLeader/)
    await stopPeer(peer)
  })

  test('a TypeScript project compiles against the declarations (nodenext: CommonJS and ES module output; bundler) and runs', { timeout: 400_000 }, async () => {
    const path = await ts
    const base = { strict: true, skipLibCheck: true, target: 'ES2022', types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')] }
    await writeFile(join(path, 'main.ts'), TS_MAIN)
    await writeFile(join(path, 'main.mts'), TS_MAIN)
    await writeFile(
      join(path, 'tsconfig.nodenext.json'),
      JSON.stringify({ compilerOptions: { ...base, module: 'nodenext', moduleResolution: 'nodenext', outDir: 'out' }, files: ['main.ts', 'main.mts'] }),
    )
    await writeFile(
      join(path, 'tsconfig.bundler.json'),
      JSON.stringify({ compilerOptions: { ...base, module: 'esnext', moduleResolution: 'bundler', noEmit: true }, files: ['main.ts'] }),
    )
    await ok('node', [TSC, '-p', 'tsconfig.nodenext.json'], path)
    await ok('node', [TSC, '-p', 'tsconfig.bundler.json'], path)
    assert.match(await readFile(join(path, 'out', 'main.js'), 'utf8'), /require\("distributex"\)/)
    const expected = ['hello, Ada', 'square', true]
    assert.deepEqual(JSON.parse(await ok('node', ['out/main.js'], path)), expected)
    assert.deepEqual(JSON.parse(await ok('node', ['out/main.mjs'], path)), expected)
  })
})
