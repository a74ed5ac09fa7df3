// Goal: the Kafka job log talks to a broker that requires TLS with client certificates, as a
// production broker would: with the CA and a client certificate it appends and reads; without the
// client certificate, or trusting only the system's CAs, it fails with a typed error that carries
// no key material. A real CLI peer given the three PEM files by flag runs jobs over TLS, and its
// logs (at debug level) and /status never contain the private key. Method: a broker of its own
// whose port speaks only TLS (test/kafka/broker.sh, DX_KAFKA_TLS=1, certificates made per run).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { KafkaJobLog } from '../../src/adapters/kafka/job-log.js'
import { realEnvironment } from '../../src/env/real.js'
import { uniqueName } from '../adapters/kafka/kafka-test-env.js'
import { Peer, freePort, waitFor } from '../helpers/peers.js'
import { BIN } from '../helpers/bin.js'
import { sourceDir } from '../helpers/paths.js'

const run = promisify(execFile)
const ROOT = join(sourceDir(import.meta.dirname), '..', '..')
const BROKER_SH = join(ROOT, 'test', 'kafka', 'broker.sh')
const PORT = Number(process.env.DX_KAFKA_TLS_PORT ?? 19392)
const BOOTSTRAP = `127.0.0.1:${PORT}`
const TLS_DIR = join(ROOT, '.kafka', `run-${PORT}`, 'tls')
const env = realEnvironment({ logLevel: 'error' })
const peers: Peer[] = []
let dir = ''
let pem: { ca: string; cert: string; key: string }

async function broker(command: 'start' | 'stop'): Promise<void> {
  await run('bash', [BROKER_SH, command], { env: { ...process.env, DX_KAFKA_PORT: String(PORT), DX_KAFKA_TLS: '1' }, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 })
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dx-kafka-tls-'))
  await broker('start')
  pem = {
    ca: await readFile(join(TLS_DIR, 'ca.pem'), 'utf8'),
    cert: await readFile(join(TLS_DIR, 'client.pem'), 'utf8'),
    key: await readFile(join(TLS_DIR, 'client.key'), 'utf8'),
  }
})
after(async () => {
  await Promise.all(peers.map((p) => p.kill()))
  await broker('stop')
  await rm(dir, { recursive: true, force: true })
})

/** The base64 body of the client's private key: what must never be printed. */
function keyBody(): string {
  return pem.key.split('\n').filter((l) => l !== '' && !l.startsWith('-----'))[1]!
}

test('the job log appends and reads over TLS with a client certificate; without one, or without the CA, a typed error', { timeout: 180_000 }, async () => {
  const topic = uniqueName('dx-tls')
  const log = new KafkaJobLog({ brokers: [BOOTSTRAP], cluster: topic, topic, env, ssl: pem, operationTimeoutMs: 20_000 })
  try {
    await log.fence(1)
    const offset = await log.append(1, [new TextEncoder().encode('over TLS')])
    const records = await log.read(offset, 1)
    assert.equal(new TextDecoder().decode(records[0]!.payload), 'over TLS')
  } finally {
    await log.close()
  }
  const refusals: Array<[string, { ca?: string; cert?: string; key?: string }, RegExp]> = [
    ['no client certificate', { ca: pem.ca }, /certificate|alert|handshake|ssl/i],
    ['only the system CAs', { cert: pem.cert, key: pem.key }, /certificate|verify/i],
  ]
  for (const [what, ssl, reason] of refusals) {
    const refused = new KafkaJobLog({ brokers: [BOOTSTRAP], cluster: topic, topic, env, ssl, operationTimeoutMs: 5_000, connectionTimeoutMs: 2_000 })
    await assert.rejects(refused.append(1, [new TextEncoder().encode('x')]), (error: Error) => {
      assert.equal(error.name, 'JobLogUnavailableError', `${what}: ${error.message}`)
      assert.match(error.message, reason, what)
      assert.ok(!error.message.includes(keyBody()), `${what}: no key material in the message`)
      return true
    })
    await refused.close()
  }
})

test('a CLI peer given the CA, certificate and key files runs jobs over TLS and never shows the key', { timeout: 240_000 }, async () => {
  await run(process.execPath, [BIN, 'secret', '--out', join(dir, 'cluster.key')])
  const peer = new Peer({
    name: 'tls',
    dataDir: join(dir, 'p0'),
    secretFile: join(dir, 'cluster.key'),
    p2pPort: await freePort(),
    httpPort: await freePort(),
    jobLog: `kafka://${BOOTSTRAP}/${uniqueName('dx-tls-peer')}`,
    extraArgs: [
      '--kafka-ca-file',
      join(TLS_DIR, 'ca.pem'),
      '--kafka-cert-file',
      join(TLS_DIR, 'client.pem'),
      '--kafka-key-file',
      join(TLS_DIR, 'client.key'),
      '--kafka-replication-factor',
      '1',
      '--kafka-min-insync-replicas',
      '1',
      '--log-level',
      'debug',
    ],
  })
  peers.push(peer)
  peer.start()
  await peer.address()
  const submitted = await waitFor(
    () => peer.call<{ id?: string }>('POST', '/jobs', { type: 'fib', input: { n: 10 } }),
    (r) => r.status === 202 || r.status === 200,
    60_000,
    'a submission',
  )
  const result = await peer.call<{ ok: boolean; value: unknown }>('GET', `/jobs/${submitted.json.id}/result?timeoutMs=30000`)
  assert.equal(result.json.ok, true, JSON.stringify(result.json))
  const status = JSON.stringify(await peer.status())
  assert.ok(!status.includes(keyBody()), 'the key is not in /status')
  assert.ok(peer.output.length > 0)
  assert.ok(!peer.output.join('\n').includes(keyBody()), 'the key is not in the logs')
  await peer.stop()
})
