// Goal: the command line helps instead of crashing: --version and every command's --help exit 0,
// errors are one line without a stack trace (unless --debug) and exit with the documented codes:
// 2 for usage errors, 1 for a refused operation (`secret --out` onto an existing file), 3 when the
// node cannot be reached.
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { freePort } from '../helpers/peers.js'
import { BIN } from '../helpers/bin.js'
import { sourceDir } from '../helpers/paths.js'

let dir: string

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dx-cli-help-'))
})

after(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { env: { ...process.env, DX_HTTP: undefined } })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

/** One line on stderr, without a stack trace. */
function assertOneLine(stderr: string): void {
  assert.equal(stderr.trimEnd().split('\n').length, 1, stderr)
  assert.doesNotMatch(stderr, /^\s+at /m)
}

test('--version prints the package version', { timeout: 30_000 }, async () => {
  const { version } = JSON.parse(await readFile(join(sourceDir(import.meta.dirname), '..', '..', 'package.json'), 'utf8')) as { version: string }
  const result = await cli('--version')
  assert.equal(result.code, 0)
  assert.equal(result.stdout, `distributex ${version} (node ${process.version})\n`)
})

test('every command answers --help with its usage and exits 0', { timeout: 60_000 }, async () => {
  const results = await Promise.all(['start', 'secret', 'status', 'submit', 'jobs', 'demo', 'sim'].map(async (command) => [command, await cli(command, '--help')] as const))
  for (const [command, result] of results) {
    assert.equal(result.code, 0, `${command} --help: ${result.stderr}`)
    assert.match(result.stdout, command === 'sim' ? /distributex sim run/ : new RegExp(`^usage: distributex ${command}`), command)
  }
  const start = results[0]![1].stdout
  for (const flag of [
    '--listen',
    '--bootstrap',
    '--secret-file',
    '--http',
    '--data-dir',
    '--job-log',
    '--cache',
    '--actors',
    '--config',
    '--log-level',
    '--gossip-interval-ms',
    '--lease-ms',
  ])
    assert.ok(start.includes(flag), `start --help does not mention ${flag}`)
})

test('usage errors are one line, point at --help and exit 2; --debug adds the stack', { timeout: 30_000 }, async () => {
  const unknownOption = await cli('start', '--no-such-option')
  assert.equal(unknownOption.code, 2)
  assertOneLine(unknownOption.stderr)
  assert.match(unknownOption.stderr, /^distributex start: Unknown option '--no-such-option' \(distributex start --help\)$/m)
  const debug = await cli('start', '--no-such-option', '--debug')
  assert.equal(debug.code, 2)
  assert.match(debug.stderr, /^\s+at /m)
  assert.equal((await cli('no-such-command')).code, 2)
})

test('secret --out onto an existing file refuses in one line with exit 1 and leaves the file alone', { timeout: 30_000 }, async () => {
  const path = join(dir, 'cluster.key')
  const first = await cli('secret', '--out', path)
  assert.equal(first.code, 0, first.stderr)
  const secret = await readFile(path, 'utf8')
  const again = await cli('secret', '--out', path)
  assert.equal(again.code, 1)
  assertOneLine(again.stderr)
  assert.match(again.stderr, /exists; refusing to overwrite a cluster secret/)
  assert.equal(await readFile(path, 'utf8'), secret)
  await writeFile(join(dir, 'other'), 'not a secret')
  assert.equal((await cli('secret', '--out', join(dir, 'other'))).code, 1)
  assert.equal(await readFile(join(dir, 'other'), 'utf8'), 'not a secret')
})

test('a node that cannot be reached is exit 3, in one line', { timeout: 30_000 }, async () => {
  const port = await freePort()
  for (const args of [['submit', 'double', '{"n":1}'], ['status'], ['jobs', 'list']]) {
    const result = await cli(...args, '--http', `127.0.0.1:${port}`)
    assert.equal(result.code, 3, `${args.join(' ')}: ${result.stderr}`)
    assertOneLine(result.stderr)
    assert.match(result.stderr, /cannot reach the node/)
  }
})

test('a reader that closes the pipe early (`distributex start --help | head -1`) ends the output quietly', async () => {
  const child = spawn(process.execPath, [BIN, 'start', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] })
  // The read end closes before the help is written, so the write fails with EPIPE.
  child.stdout.destroy()
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  assert.equal(code, 0, stderr)
  assert.doesNotMatch(stderr, /EPIPE|^\s+at /m)
})
