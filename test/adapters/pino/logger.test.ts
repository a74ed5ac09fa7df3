// Goal: the pino logger behind the Logger port writes one JSON object per line with a level name,
// redacts secrets whatever code logged them, keeps errors readable, and pretty mode is for people;
// the CLI takes --log-format and refuses a bad one as a usage error. Method: the logger into a
// buffer, and a real `distributex start` process.
import assert from 'node:assert/strict'
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { REDACTED, pinoLogger } from '../../../src/adapters/pino/logger.js'
import { freePort } from '../../helpers/peers.js'
import { BIN } from '../../helpers/bin.js'

function capture(format: 'json' | 'pretty', level: 'debug' | 'info' = 'info') {
  const lines: string[] = []
  const logger = pinoLogger({ level, format, colorize: false, write: (chunk) => lines.push(...chunk.split('\n').filter((l) => l.length > 0)) })
  return { logger, lines }
}

test('JSON lines carry the level by name, the message, bindings and fields; below the level nothing', () => {
  const { logger, lines } = capture('json')
  logger.child({ node: 'n1' }).info('started', { port: 7400 })
  logger.debug('not shown')
  assert.equal(lines.length, 1)
  const line = JSON.parse(lines[0]!) as Record<string, unknown>
  assert.equal(line.level, 'info')
  assert.equal(line.msg, 'started')
  assert.equal(line.node, 'n1')
  assert.equal(line.port, 7400)
  assert.equal(typeof line.time, 'number')
})

test('secrets are redacted at the top level and one level down, whatever logged them', () => {
  const { logger, lines } = capture('json')
  logger.warn('config', { token: 'tok-123', config: { secret: 'sec-456', password: 'pw-789', listen: '/ip4/0.0.0.0/tcp/7400' }, headers: { authorization: 'Bearer abc' } })
  const text = lines.join('\n')
  for (const leaked of ['tok-123', 'sec-456', 'pw-789', 'Bearer abc']) assert.ok(!text.includes(leaked), `${leaked} leaked: ${text}`)
  const line = JSON.parse(lines[0]!) as { token: string; config: { secret: string; listen: string }; headers: { authorization: string } }
  assert.equal(line.token, REDACTED)
  assert.equal(line.config.secret, REDACTED)
  assert.equal(line.headers.authorization, REDACTED)
  assert.equal(line.config.listen, '/ip4/0.0.0.0/tcp/7400', 'other fields stay')
})

test('errors keep name, code and message; the stack only at debug level', () => {
  const error = Object.assign(new Error('disk full'), { code: 'ENOSPC' })
  const info = capture('json')
  info.logger.error('write failed', { error })
  const shown = JSON.parse(info.lines[0]!) as { error: Record<string, unknown> }
  assert.deepEqual(shown.error, { name: 'Error', message: 'disk full', code: 'ENOSPC' })
  const debug = capture('json', 'debug')
  debug.logger.error('write failed', { error })
  assert.match(String((JSON.parse(debug.lines[0]!) as { error: { stack: string } }).error.stack), /disk full\n\s+at /)
})

test('pretty mode prints a readable line, not JSON, still redacted', () => {
  const { logger, lines } = capture('pretty')
  logger.info('peer up', { token: 'tok-123', members: 3 })
  const text = lines.join('\n')
  assert.throws(() => JSON.parse(lines[0]!))
  assert.match(text, /INFO.*peer up/)
  assert.match(text, /members: 3/)
  assert.ok(!text.includes('tok-123'))
})

test('distributex start logs JSON lines with --log-format json and refuses an unknown format (exit 2)', { timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-log-format-'))
  let child: ChildProcess | undefined
  // One hook, in order: the peer must be gone before its data directory is removed (it writes
  // there while it runs), and a hook that throws would skip the hooks after it, leaving the peer
  // alive and this test file unable to exit.
  t.after(async () => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    }
    await rm(dir, { recursive: true, force: true })
  })
  const bad = await promisify(execFile)(process.execPath, [BIN, 'start', '--data-dir', join(dir, 'bad'), '--log-format', 'xml']).then(
    () => ({ code: 0, stderr: '' }),
    (e: { code: number; stderr: string }) => e,
  )
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /logFormat: xml is not one of json, pretty, auto/)
  const peer = spawn(
    process.execPath,
    [BIN, 'start', '--listen', `/ip4/127.0.0.1/tcp/${await freePort()}`, '--http', `127.0.0.1:${await freePort()}`, '--data-dir', join(dir, 'p'), '--log-format', 'json'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  child = peer
  let err = ''
  peer.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const deadline = Date.now() + 45_000
  while (!err.includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
  const first = JSON.parse(err.split('\n')[0]!) as { level: string; msg: string }
  assert.ok(['info', 'warn'].includes(first.level), err)
  assert.equal(typeof first.msg, 'string')
})
