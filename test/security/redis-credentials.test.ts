// Goal: the Redis cache authenticates as an ACL user with a password from a file and speaks TLS
// (rediss://) with the CA from a file; a wrong password or an unknown CA is CacheUnavailableError
// and the password shows in no log line. A real CLI peer configured that way caches its results in
// Redis, and neither its logs (debug level) nor /status contain the password. Method: a
// redis-server of the test's own, on a free port, with TLS (a CA and certificate made by openssl)
// and `requirepass`; the ACL user is created with ACL SETUSER.
import assert from 'node:assert/strict'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { RedisResultCache } from '../../src/adapters/redis/result-cache.js'
import { MemoryLogger } from '../../src/env/logger.js'
import { Peer, freePort, waitFor } from '../helpers/peers.js'
import { BIN } from '../helpers/bin.js'

const run = promisify(execFile)
const ADMIN_PASSWORD = 'admin-pw-6b1d'
const USER_PASSWORD = 'dx-redis-secret-93fe'
let dir = ''
let port = 0
let ca = ''
let server: ChildProcess | undefined
const peers: Peer[] = []

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dx-redis-sec-'))
  const ssl = async (...args: string[]): Promise<void> => {
    await run('openssl', args, { cwd: dir })
  }
  await ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=dx-test-ca')
  await ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1')
  await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n')
  await ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext')
  ca = await readFile(join(dir, 'ca.pem'), 'utf8')
  port = await freePort()
  server = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--tls-cert-file',
      join(dir, 'server.pem'),
      '--tls-key-file',
      join(dir, 'server.key'),
      '--tls-ca-cert-file',
      join(dir, 'ca.pem'),
      '--tls-auth-clients',
      'no',
      '--requirepass',
      ADMIN_PASSWORD,
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    { stdio: 'ignore' },
  )
  const admin = adminClient()
  try {
    await waitFor(
      () => admin.ping().catch(() => 'down'),
      (r) => r === 'PONG',
      30_000,
      'redis-server with TLS',
    )
    await admin.call('ACL', 'SETUSER', 'dx', 'on', `>${USER_PASSWORD}`, '~dxsec:*', '+@all')
  } finally {
    admin.disconnect()
  }
})
after(async () => {
  await Promise.all(peers.map((p) => p.kill()))
  server?.kill('SIGKILL')
  await rm(dir, { recursive: true, force: true })
})

function adminClient(): Redis {
  const client = new Redis({ host: '127.0.0.1', port, password: ADMIN_PASSWORD, tls: { ca }, maxRetriesPerRequest: 0, retryStrategy: () => 200 })
  // Refused connections while the server starts are expected; the commands report failures.
  client.on('error', () => {})
  return client
}

test(
  'the cache authenticates as an ACL user over TLS; a wrong password or an unknown CA is CacheUnavailableError, and the password is logged nowhere',
  { timeout: 120_000 },
  async () => {
    const logger = new MemoryLogger()
    const cache = new RedisResultCache({ host: '127.0.0.1', port, prefix: 'dxsec:direct:', logger, username: 'dx', password: USER_PASSWORD, tls: { ca } })
    try {
      await cache.set('k', new TextEncoder().encode('v'))
      assert.equal(new TextDecoder().decode(await cache.get('k')), 'v')
    } finally {
      await cache.close()
    }
    const admin = adminClient()
    try {
      assert.equal(await admin.get('dxsec:direct:k'), 'v', 'stored under the prefix, as the ACL user may')
    } finally {
      admin.disconnect()
    }
    const refusals: Array<ConstructorParameters<typeof RedisResultCache>[0]> = [
      { host: '127.0.0.1', port, prefix: 'dxsec:x:', logger, username: 'dx', password: 'wrong-password-11', tls: { ca } },
      { host: '127.0.0.1', port, prefix: 'dxsec:x:', logger, username: 'dx', password: USER_PASSWORD, tls: {} },
      { host: '127.0.0.1', port, prefix: 'other:', logger, username: 'dx', password: USER_PASSWORD, tls: { ca } },
    ]
    for (const init of refusals) {
      const refused = new RedisResultCache(init)
      await assert.rejects(refused.set('k', new TextEncoder().encode('v')), { name: 'CacheUnavailableError' })
      await refused.close()
    }
    const logged = JSON.stringify(logger.records)
    assert.ok(logger.records.length > 0)
    assert.ok(!logged.includes(USER_PASSWORD) && !logged.includes('wrong-password-11'), logged)
  },
)

test('a CLI peer with rediss://, an ACL user and the password in a file caches its results; the password is in no log or /status', { timeout: 120_000 }, async () => {
  const passwordFile = join(dir, 'redis.password')
  await writeFile(passwordFile, `${USER_PASSWORD}\n`, { mode: 0o600 })
  await run(process.execPath, [BIN, 'secret', '--out', join(dir, 'cluster.key')])
  const peer = new Peer({
    name: 'redis',
    dataDir: join(dir, 'p0'),
    secretFile: join(dir, 'cluster.key'),
    p2pPort: await freePort(),
    httpPort: await freePort(),
    cache: `rediss://127.0.0.1:${port}/dxsec:peer`,
    extraArgs: ['--redis-username', 'dx', '--redis-password-file', passwordFile, '--redis-ca-file', join(dir, 'ca.pem'), '--log-level', 'debug'],
  })
  peers.push(peer)
  peer.start()
  await peer.address()
  const submitted = await waitFor(
    () => peer.call<{ id?: string }>('POST', '/jobs', { type: 'fib', input: { n: 12 } }),
    (r) => r.status === 202 || r.status === 200,
    60_000,
    'a submission',
  )
  const result = await peer.call<{ ok: boolean }>('GET', `/jobs/${submitted.json.id}/result?timeoutMs=30000`)
  assert.equal(result.json.ok, true, JSON.stringify(result.json))
  const admin = adminClient()
  try {
    const keys = await waitFor(
      () => admin.keys('dxsec:peer:*'),
      (k) => k.length > 0,
      30_000,
      'the result in Redis',
    )
    assert.ok(keys.length > 0)
  } finally {
    admin.disconnect()
  }
  assert.ok(!JSON.stringify(await peer.status()).includes(USER_PASSWORD))
  await peer.stop()
  assert.ok(peer.output.length > 0)
  assert.ok(!peer.output.join('\n').includes(USER_PASSWORD), 'the password is not in the logs')
})
