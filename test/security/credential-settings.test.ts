// Goal: service credentials come only from files or the environment, are checked at start, and a
// mistake is a ConfigError that does not echo a secret. Method: resolveConfig on flags, environment
// and config files, as `distributex start` calls it.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { resolveConfig, type RawSettings } from '../../src/node/config.js'

test('Kafka SASL and TLS, Redis user, password and TLS resolve from files and the environment', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-cred-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  await writeFile(join(dir, 'kafka.pw'), 'kafka-secret\nignored second line\n')
  await writeFile(join(dir, 'redis.pw'), 'redis-secret\n')
  await writeFile(join(dir, 'ca.pem'), 'CA PEM')
  const config = resolveConfig(
    {
      jobLog: 'kafka://k1:9092,k2:9092/jobs',
      kafkaSasl: 'scram-sha-512',
      kafkaUsername: 'dx',
      kafkaPasswordFile: join(dir, 'kafka.pw'),
      kafkaCaFile: join(dir, 'ca.pem'),
      cache: 'rediss://r:6380/p',
      redisUsername: 'app',
      redisPasswordFile: join(dir, 'redis.pw'),
      redisCaFile: join(dir, 'ca.pem'),
    },
    {},
  )
  assert.deepEqual(config.kafka, {
    tls: { ca: 'CA PEM' },
    sasl: { mechanism: 'scram-sha-512', username: 'dx', password: 'kafka-secret' },
    replicationFactor: 3,
    minInsyncReplicas: 2,
  })
  assert.deepEqual(config.cache, { kind: 'redis', host: 'r', port: 6380, prefix: 'p', tls: true })
  assert.deepEqual(config.redis, { tls: { ca: 'CA PEM' }, username: 'app', password: 'redis-secret' })
  const fromEnv = resolveConfig(
    {},
    {
      DX_JOB_LOG: 'kafka://k:9092/t',
      DX_KAFKA_SASL: 'plain',
      DX_KAFKA_USERNAME: 'u',
      DX_KAFKA_PASSWORD: 'env-secret',
      DX_KAFKA_TLS: 'on',
      DX_KAFKA_REPLICATION_FACTOR: '1',
      DX_CACHE: 'redis://r:6379',
      DX_REDIS_PASSWORD: 'env-redis',
    },
  )
  assert.deepEqual(fromEnv.kafka, { tls: {}, sasl: { mechanism: 'plain', username: 'u', password: 'env-secret' }, replicationFactor: 1, minInsyncReplicas: 1 })
  assert.deepEqual(fromEnv.redis, { tls: undefined, username: undefined, password: 'env-redis' })
  assert.deepEqual(resolveConfig({}, {}).kafka, { tls: undefined, sasl: undefined, replicationFactor: 3, minInsyncReplicas: 2 })
})

test('credential mistakes are ConfigErrors that do not echo secrets', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-cred-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  await writeFile(join(dir, 'empty.pw'), '\n')
  await writeFile(join(dir, 'settings.json'), JSON.stringify({ kafkaReplicationFactor: '3', kafkaSasl: 5 }))
  const cases: Array<[RawSettings, Record<string, string>, RegExp]> = [
    [{ kafkaSasl: 'gssapi', kafkaUsername: 'u' }, { DX_KAFKA_PASSWORD: 'p' }, /kafkaSasl: gssapi is not one of/],
    [{ kafkaSasl: 'plain' }, {}, /needs kafkaUsername/],
    [{ kafkaSasl: 'plain', kafkaUsername: 'u' }, {}, /needs a password/],
    [{ kafkaSasl: 'plain', kafkaUsername: 'u', kafkaPasswordFile: join(dir, 'missing.pw') }, {}, /cannot read the kafka password file/],
    [{ kafkaSasl: 'plain', kafkaUsername: 'u', kafkaPasswordFile: join(dir, 'empty.pw') }, {}, /is empty/],
    [{ kafkaUsername: 'u' }, {}, /need kafkaSasl/],
    [{ kafkaTls: 'yes' }, {}, /kafkaTls: yes is neither on nor off/],
    [{ kafkaCertFile: join(dir, 'empty.pw') }, {}, /client certificate needs its key/],
    [{ kafkaReplicationFactor: '1', kafkaMinInsyncReplicas: '2' }, {}, /above kafkaReplicationFactor/],
    [{ kafkaReplicationFactor: '0' }, {}, /not a whole number of at least 1/],
    [{ redisCaFile: join(dir, 'empty.pw') }, {}, /not rediss/],
    [{ redisUsername: 'u' }, {}, /redisUsername needs a password/],
    [{ cache: 'redis://u:hunter2@r:6379' }, {}, /not in the URL/],
    [{ jobLog: 'kafka://u:hunter2@k:9092/t' }, {}, /not in the URL/],
  ]
  for (const [flags, env, message] of cases) {
    assert.throws(
      () => resolveConfig(flags, env),
      (error: Error) => {
        assert.equal(error.name, 'ConfigError')
        assert.match(error.message, message)
        assert.ok(!error.message.includes('hunter2'), error.message)
        return true
      },
      JSON.stringify(flags),
    )
  }
  assert.throws(() => resolveConfig({}, {}, join(dir, 'settings.json')), { name: 'ConfigError', message: /kafkaSasl must be a string, not 5/ })
})
