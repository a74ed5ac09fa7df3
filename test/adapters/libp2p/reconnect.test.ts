// Goal: the redial schedule follows exponential backoff with jitter on the injected clock, redials
// bootstrap peers forever, forgets other peers after a bounded number of failures, and leaves no
// timer behind. Method: the Redialer on manual time with a scripted attempt function.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { refusedDial } from '../../../src/adapters/libp2p/errors.js'
import { Redialer, type RedialPolicy } from '../../../src/adapters/libp2p/reconnect.js'
import { ManualEnvironment } from '../../../src/env/manual.js'

const POLICY: RedialPolicy = { minMs: 100, maxMs: 1_000, factor: 2, jitter: 0.2, maxAttempts: 3, maxRefused: 3, stableMs: 5_000, maxKnownPeers: 3, aloneMaxMs: 1_000 }

/** A Redialer whose attempts are recorded with their time and fail unless `succeed` says otherwise. */
function harness(policy: RedialPolicy = POLICY, failure: (attempt: number) => Error = () => new Error('unreachable')) {
  const env = new ManualEnvironment({ seed: 7 })
  const attempts: Array<{ peer: string; target: string; atMs: number }> = []
  let succeed = (_peer: string): boolean => false
  const redialer: Redialer<string> = new Redialer<string>(
    env,
    policy,
    async (peer, target, signal) => {
      attempts.push({ peer, target, atMs: env.now })
      assert.equal(signal.aborted, false)
      if (!succeed(peer)) throw failure(attempts.filter((a) => a.peer === peer).length)
      redialer.opened(peer)
    },
    refusedDial,
  )
  return { env, attempts, redialer, setSucceed: (f: (peer: string) => boolean) => (succeed = f) }
}

test('failed redials back off exponentially with jitter, up to the cap', async () => {
  const { env, attempts, redialer } = harness({ ...POLICY, maxAttempts: 100 })
  redialer.remember('p', 'addr-p', false)
  redialer.opened('p')
  await env.advance(10_000)
  redialer.closed('p')
  await env.advance(20_000)
  const gaps = attempts.map((a, i) => a.atMs - (i === 0 ? 10_000 : attempts[i - 1]!.atMs))
  assert.ok(gaps.length >= 10, `only ${gaps.length} attempts`)
  for (const [i, gap] of gaps.entries()) {
    const base = Math.min(POLICY.maxMs, POLICY.minMs * 2 ** i)
    assert.ok(gap >= base * 0.8 - 1 && gap <= base * 1.2 + 1, `gap ${i} = ${gap} outside ${base} +- 20%`)
  }
  assert.ok(new Set(gaps.slice(6)).size > 1, 'jitter spreads the capped delays')
  assert.ok(attempts.every((a) => a.peer === 'p' && a.target === 'addr-p'))
})

test('a peer that is not pinned is forgotten after maxAttempts failures; a pinned one never is', async () => {
  const { env, attempts, redialer } = harness()
  redialer.remember('guest', 'g', false)
  redialer.remember('seed', 's', true)
  redialer.opened('guest')
  redialer.opened('seed')
  redialer.closed('guest')
  redialer.closed('seed')
  await env.advance(30_000)
  assert.equal(attempts.filter((a) => a.peer === 'guest').length, POLICY.maxAttempts)
  assert.equal(redialer.has('guest'), false)
  assert.ok(attempts.filter((a) => a.peer === 'seed').length > 20)
  assert.equal(redialer.has('seed'), true)
})

/** libp2p's failure of a dial nobody answered: ECONNREFUSED inside an AggregateError inside the dial error. */
const refusedError = (): Error => new Error('dial failed', { cause: new AggregateError([Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })]) })

test('a peer that is not pinned is forgotten after maxRefused refusals in a row (its process is gone); a failure of another kind resets the count; a pinned one is redialed still', async () => {
  const policy = { ...POLICY, maxAttempts: 10, maxRefused: 2 }
  const gone = harness(policy, refusedError)
  gone.redialer.remember('gone', 'g', false)
  gone.redialer.remember('seed', 's', true)
  for (const peer of ['gone', 'seed']) gone.redialer.opened(peer)
  for (const peer of ['gone', 'seed']) gone.redialer.closed(peer)
  await gone.env.advance(30_000)
  assert.equal(gone.attempts.filter((a) => a.peer === 'gone').length, 2, 'two refusals, then forgotten')
  assert.equal(gone.redialer.has('gone'), false)
  assert.ok(gone.attempts.filter((a) => a.peer === 'seed').length > 10, 'a bootstrap peer is redialed whatever the refusals')
  // Refused, timed out, refused, ...: never two refusals in a row, so only maxAttempts ends it.
  const cut = harness(policy, (n) => (n % 2 === 1 ? refusedError() : new Error('timed out')))
  cut.redialer.remember('flaky', 'f', false)
  cut.redialer.opened('flaky')
  cut.redialer.closed('flaky')
  await cut.env.advance(60_000)
  assert.equal(cut.attempts.length, policy.maxAttempts)
})

test('a bootstrap peer refused maxRefused times in a row is redialed only about maxMs apart while another peer is connected', async () => {
  const policy = { ...POLICY, maxAttempts: 10, maxRefused: 2 }
  const { env, attempts, redialer } = harness(policy, refusedError)
  redialer.remember('seed', 's', true)
  redialer.remember('other', 'o', false)
  redialer.opened('seed')
  redialer.opened('other')
  redialer.closed('seed')
  await env.advance(10_000)
  const at = attempts.filter((a) => a.peer === 'seed').map((a) => a.atMs)
  const gaps = at.slice(1).map((t, i) => t - at[i]!)
  assert.ok(gaps[0]! < 400, `the second attempt follows the first within the backoff (${gaps[0]} ms)`)
  assert.ok(gaps.length >= 5 && gaps.slice(1).every((g) => g >= policy.maxMs * (1 - policy.jitter)), `after two refusals, about maxMs apart: ${gaps.join(', ')}`)
  assert.equal(redialer.has('seed'), true, 'never forgotten')
})

test('refusedDial finds ECONNREFUSED however deep the dial error wraps it, and nothing else', () => {
  assert.equal(refusedDial(refusedError()), true)
  assert.equal(refusedDial(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), true)
  assert.equal(refusedDial(new Error('dial failed', { cause: Object.assign(new Error('t'), { code: 'ETIMEDOUT' }) })), false)
  assert.equal(refusedDial(new AggregateError([new Error('a'), new Error('b')])), false)
  assert.equal(refusedDial(undefined), false)
  assert.equal(refusedDial('ECONNREFUSED'), false)
})

test('a bootstrap peer of a node alone is redialed at most about aloneMaxMs apart; once another peer is connected, the full backoff applies', async () => {
  const policy = { ...POLICY, maxMs: 30_000, aloneMaxMs: 5_000, maxAttempts: 100 }
  const gapsOf = (attempts: Array<{ peer: string; atMs: number }>): number[] =>
    attempts.filter((a) => a.peer === 'seed').map((a, i, all) => a.atMs - (i === 0 ? 0 : all[i - 1]!.atMs))
  const alone = harness(policy)
  alone.redialer.remember('seed', 's', true)
  alone.redialer.dialSoon('seed')
  await alone.env.advance(120_000)
  const aloneGaps = gapsOf(alone.attempts).slice(1)
  assert.ok(aloneGaps.length >= 20, `${aloneGaps.length} redials in 120 s`)
  assert.ok(Math.max(...aloneGaps) <= 5_000 * 1.2 + 1, `gaps up to ${Math.max(...aloneGaps)} ms`)

  const accompanied = harness(policy)
  accompanied.redialer.remember('other', 'o', false)
  accompanied.redialer.opened('other')
  accompanied.redialer.remember('seed', 's', true)
  accompanied.redialer.dialSoon('seed')
  await accompanied.env.advance(120_000)
  assert.ok(Math.max(...gapsOf(accompanied.attempts)) >= 30_000 * 0.8, 'backs off to maxMs while another peer is connected')
  alone.redialer.stop()
  accompanied.redialer.stop()
})

test('a successful redial stops the schedule and counts as a reconnect', async () => {
  const { env, attempts, redialer, setSucceed } = harness()
  redialer.remember('p', 'x', true)
  redialer.opened('p')
  redialer.closed('p')
  await env.advance(150)
  setSucceed(() => true)
  await env.advance(10_000)
  const count = attempts.length
  assert.ok(count >= 2 && count <= 3, `${count} attempts`)
  await env.advance(60_000)
  assert.equal(attempts.length, count)
  assert.equal(env.pendingTimers, 0)
})

test('opened() reports a reconnect only after a loss', () => {
  const { redialer } = harness()
  redialer.remember('p', 'x', false)
  assert.equal(redialer.opened('p'), false)
  redialer.closed('p')
  assert.equal(redialer.opened('p'), true)
  assert.equal(redialer.opened('unknown'), false)
})

test('a channel that stayed up past stableMs forgives earlier failures', async () => {
  const { env, attempts, redialer, setSucceed } = harness({ ...POLICY, maxAttempts: 100 })
  redialer.remember('p', 'x', false)
  redialer.opened('p')
  redialer.closed('p')
  await env.advance(3_000)
  const failuresBefore = attempts.length
  assert.ok(failuresBefore >= 4)
  setSucceed(() => true)
  await env.advance(2_000)
  await env.advance(POLICY.stableMs)
  redialer.closed('p')
  const lostAt = env.now
  await env.advance(POLICY.minMs * 1.2 + 1)
  assert.ok(attempts.at(-1)!.atMs - lostAt <= POLICY.minMs * 1.2 + 1, 'the first redial after a stable channel uses the minimum delay')
})

test('bootstrap peers dial at once; stop cancels every timer and later events', async () => {
  const { env, attempts, redialer } = harness()
  redialer.remember('a', 'x', true)
  redialer.remember('b', 'y', true)
  redialer.dialSoon('a')
  redialer.dialSoon('b')
  await env.flush()
  assert.deepEqual(
    attempts.map((a) => a.peer),
    ['a', 'b'],
  )
  redialer.stop()
  assert.equal(env.pendingTimers, 0)
  redialer.closed('a')
  await env.advance(60_000)
  assert.equal(attempts.length, 2)
  assert.equal(env.pendingTimers, 0)
})

test('the table is bounded: the oldest disconnected peer that is not pinned is evicted', () => {
  const { redialer } = harness()
  assert.equal(redialer.remember('seed', 's', true), true)
  assert.equal(redialer.remember('old', 'o', false), true)
  redialer.opened('old')
  assert.equal(redialer.remember('mid', 'm', false), true)
  assert.equal(redialer.remember('new', 'n', false), true)
  assert.equal(redialer.size, 3)
  assert.equal(redialer.has('mid'), false, 'the oldest unpinned, disconnected peer goes first')
  assert.equal(redialer.has('old'), true)
  redialer.opened('new')
  assert.equal(redialer.remember('newer', 'n2', false), false, 'nothing left to evict')
  assert.equal(redialer.size, 3)
})

test('remembering again keeps a bootstrap address over a learned one', async () => {
  const { env, attempts, redialer } = harness()
  redialer.remember('p', '/bootstrap/addr', true)
  redialer.remember('p', 'peer-id-object', false)
  redialer.opened('p')
  redialer.closed('p')
  await env.advance(200)
  assert.equal(attempts[0]?.target, '/bootstrap/addr')
})
