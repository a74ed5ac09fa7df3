// Goal: each placement policy decides as documented, never exceeds the overcommit limit, and is
// selectable by name (an unknown name is a typed error); eect accounts the predicted work it
// placed, ages it (a running attempt counts its expected residual), releases it, and binds late
// (eect-pull: free slots only; a job waits for a busy peer that finishes it sooner only while few wait);
// wlc-gossip adds to a gossiped queue the assignments since that gossip, and a new gossip restarts the count.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SeededRandom } from '../../src/env/prng.js'
import { InvalidArgumentError } from '../../src/errors.js'
import { LeastLoadedPlacement, OVERCOMMIT, type PeerLoad, type PlacementModel } from '../../src/jobs/placement.js'
import { createPlacement, PLACEMENT_NAMES } from '../../src/jobs/placement/index.js'
import { EectPlacement } from '../../src/jobs/placement/policies.js'
import { residualMs, upperTail, WorkAccounting } from '../../src/jobs/placement/accounting.js'
import { DurationPredictor } from '../../src/predict/duration.js'

const peer = (node: string, outstanding: number, extra: Partial<PeerLoad> = {}): PeerLoad => ({ node, capacity: 1, outstanding, eventLoopLagMs: 0, leader: false, ...extra })
const speeds: Record<string, number> = { fast: 2, slow: 0.5 }
const model: PlacementModel = {
  speed: (n) => speeds[n] ?? 1,
  predict: (_t, n, hint) => {
    const d = (hint ?? 1000) / (n === null ? 1 : (speeds[n] ?? 1))
    return { p50Ms: d, p90Ms: 2 * d }
  },
}
const job = (nowMs: number, extra: { durationHintMs?: number; deadline?: number } = {}) => ({
  id: 'j',
  nowMs,
  wallMs: nowMs,
  durationHintMs: extra.durationHintMs ?? null,
  deadline: extra.deadline ?? null,
})

test('every named policy is built, respects the overcommit limit, and returns undefined when all are full', () => {
  for (const name of PLACEMENT_NAMES) {
    const p = createPlacement(name, { random: new SeededRandom(1), model })
    const full = [peer('a', OVERCOMMIT), peer('b', OVERCOMMIT)]
    assert.equal(p.choose('t', full, job(0)), undefined, name)
    assert.equal(p.choose('t', [peer('a', OVERCOMMIT), peer('b', 0)], job(0)), 'b', name)
  }
  assert.throws(() => createPlacement('fastest', { random: new SeededRandom(1), model }), InvalidArgumentError)
})

test('round-robin cycles in id order; random spreads; weighted round robin follows capacity x speed', () => {
  const rr = createPlacement('round-robin', { random: new SeededRandom(1), model, overcommit: Infinity })
  assert.deepEqual(
    [0, 1, 2, 3].map(() => rr.choose('t', [peer('c', 0), peer('a', 0), peer('b', 0)])),
    ['a', 'b', 'c', 'a'],
  )
  const wrr = createPlacement('weighted-round-robin', { random: new SeededRandom(1), model, overcommit: Infinity })
  const picks = Array.from({ length: 50 }, () => wrr.choose('t', [peer('fast', 0), peer('slow', 0)]))
  assert.equal(picks.filter((p) => p === 'fast').length, 40)
  const rnd = createPlacement('random', { random: new SeededRandom(3), model, overcommit: Infinity })
  const seen = new Set(Array.from({ length: 40 }, () => rnd.choose('t', [peer('a', 0), peer('b', 0), peer('c', 0)])))
  assert.equal(seen.size, 3)
})

test("least-loaded reads only gossip (and herds on it); wlc reads the leader's count and speed", () => {
  const ll = createPlacement('least-loaded', { random: new SeededRandom(1), model, overcommit: Infinity })
  const stale = { atMs: 0, running: 0, queued: 0 }
  // Gossip says both are idle: every job goes to the same (lowest id) node, whatever was assigned since.
  assert.equal(ll.choose('t', [peer('a', 5, { gossip: stale }), peer('b', 0, { gossip: stale })]), 'a')
  assert.equal(ll.choose('t', [peer('a', 5, { gossip: { atMs: 0, running: 1, queued: 3 } }), peer('b', 0, { gossip: stale })]), 'b')
  const wlc = new LeastLoadedPlacement(model, Infinity)
  // 1 outstanding on a node of speed 2 (0.5) beats 1 on speed 1 (1).
  assert.equal(wlc.choose('t', [peer('m', 1), peer('fast', 1)]), 'fast')
  // Without a model it is the historic policy: outstanding per capacity.
  assert.equal(new LeastLoadedPlacement().choose('t', [peer('m', 1), peer('fast', 2)]), 'm')
})

test('wlc-gossip: (gossiped queue + assignments since that gossip + 1) / speed; a new gossip restarts the count', () => {
  const p = createPlacement('wlc-gossip', { random: new SeededRandom(1), model, overcommit: Infinity })
  const heard = (atMs: number, queued: number) => ({ atMs, running: 1, queued: queued - 1 })
  // a (speed 1) gossiped 2: (2 + 0 + 1) / 1 = 3; fast (speed 2) gossiped 4: (4 + 0 + 1) / 2 = 2.5. The
  // leader's outstanding counts (9 on fast) are not read: finishes since the gossip do not lower a score.
  const view = (fastGossip: { atMs: number; running: number; queued: number }) => [peer('a', 0, { gossip: heard(100, 2) }), peer('fast', 9, { gossip: fastGossip })]
  assert.equal(p.choose('t', view(heard(100, 4))), 'fast')
  // fast 1 since: (4 + 1 + 1) / 2 = 3 ties a's 3, the lower id wins; then a's 4 loses to fast's 3 and 3.5; 4 ties: a.
  assert.deepEqual(
    [0, 1, 2, 3].map(() => p.choose('t', view(heard(100, 4)))),
    ['a', 'fast', 'fast', 'a'],
  )
  // a holds 2 since its gossip: (2 + 2 + 1) / 1 = 5. fast's new gossip (heard at 200, the same queue)
  // drops its 3 since, so it scores 2.5 again and takes 5 jobs (2.5 .. 4.5 < 5) before it ties a's 5.
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5].map(() => p.choose('t', view(heard(200, 4)))),
    ['fast', 'fast', 'fast', 'fast', 'fast', 'a'],
  )
  // A peer that has not gossiped is read by the leader's outstanding count; reset() forgets the counts.
  assert.equal(p.choose('t', [peer('a', 3), peer('b', 1)]), 'b')
  // a holds 3 since its gossip (6 against b's 5); after reset() it is back at 3.
  const ab = [peer('a', 0, { gossip: heard(100, 2) }), peer('b', 0, { gossip: heard(100, 4) })]
  p.reset?.()
  assert.equal(p.choose('t', ab), 'a')
})

test('p2c picks the lower expected delay of two sampled peers', () => {
  const p = createPlacement('p2c', { random: new SeededRandom(1), model, overcommit: Infinity })
  for (let i = 0; i < 20; i++) assert.equal(p.choose('t', [peer('a', 3), peer('b', 0)]), 'b')
})

test('eect: earliest expected completion, with accounting aged and released', () => {
  const e = new EectPlacement(model, new SeededRandom(1), { overcommit: Infinity, tie: 0 })
  // Idle: the fast node finishes a 1000 ms job in 500 ms.
  assert.equal(e.choose('t', [peer('fast', 0), peer('m', 0)], job(0)), 'fast')
  // fast holds 500 ms; a 4000 ms job: fast 500 + 2000 = 2500 vs m 4000.
  assert.equal(e.choose('t', [peer('fast', 1), peer('m', 0)], job(0, { durationHintMs: 4000 })), 'fast')
  // fast holds 500 + 2000 ms; a 1000 ms job: fast 2500 + 500 = 3000 vs m 1000 -> m.
  assert.equal(e.choose('t', [peer('fast', 2), peer('m', 0)], job(0)), 'm')
  // Released work no longer counts.
  e.released('fast', 't', 0)
  e.released('fast', 't', 0)
  assert.equal(e.choose('t', [peer('fast', 0), peer('m', 1)], job(0)), 'fast')
})

test("eect: the leader's own node looks half a typical job per slot emptier while its event loop keeps up", () => {
  const e = new EectPlacement(model, new SeededRandom(1), { overcommit: Infinity, tie: 0, localPreference: 0.5 })
  // Idle nodes of equal speed: the leader's own wins (a job there skips two network hops).
  assert.equal(e.choose('t', [peer('a', 0), peer('b', 0, { leader: true })], job(0)), 'b')
  // It holds a 1000 ms job: 1000 + 1000 - 500 = 1500 against a's 1000.
  assert.equal(e.choose('t', [peer('a', 0), peer('b', 1, { leader: true })], job(0)), 'a')
  // A lagging leader gets no preference: holding 400 ms it would win (400 + 1000 - 500 < 1000), but it loses.
  const f = new EectPlacement(model, new SeededRandom(1), { overcommit: Infinity, tie: 0, localPreference: 0.5 })
  const lagging = peer('b', 0, { leader: true, eventLoopLagMs: 200 })
  assert.equal(f.choose('t', [lagging], job(0, { durationHintMs: 400 })), 'b')
  assert.equal(f.choose('t', [peer('a', 0), lagging], job(0)), 'a')
  assert.equal(f.choose('t', [peer('a', 1), { ...lagging, eventLoopLagMs: 0 }], job(0)), 'b')
  // Built by name (as --placement eect does) it carries the preference; the simulator passes 0.
  const byName = createPlacement('eect', { random: new SeededRandom(1), model, overcommit: Infinity })
  assert.equal(byName.choose('t', [peer('a', 0), peer('b', 0, { leader: true })], job(0)), 'b')
})

test('eect-pull: free slots only; holds a job for a sooner busy peer only while few jobs wait', () => {
  const p = createPlacement('eect-pull', { random: new SeededRandom(1), model, overcommit: Infinity })
  const q = (queued: number) => ({ ...job(0), queued })
  // Only a free slot takes a job: the leader's queue keeps the rest (late binding).
  assert.equal(p.choose('t', [peer('m', 0)], q(1)), 'm')
  assert.equal(p.choose('t', [peer('m', 1)], q(1)), undefined)
  // fast (speed 2) holds a 500 ms job: it would finish a new one at 500 + 500 < slow's 2000.
  assert.equal(p.choose('t', [peer('fast', 1), peer('slow', 0)], q(1)), undefined)
  // With two jobs waiting and one such peer, the second would wait longer still: slow takes it.
  assert.equal(p.choose('t', [peer('fast', 1), peer('slow', 0)], q(2)), 'slow')
})

test('work accounting: the running window ages, queued work does not', () => {
  const a = new WorkAccounting()
  a.assigned('n', 1, 't', 1000, 0)
  a.assigned('n', 1, 't', 1000, 0)
  assert.equal(a.backlogMs('n', 400), 1600)
  assert.equal(a.backlogMs('n', 5000), 1000)
  a.released('n', 't', 1000)
  assert.equal(a.backlogMs('n', 1500), 500)
  a.released('n', 't', 2000)
  assert.equal(a.backlogMs('n', 2000), 0)
})

test('work accounting: an attempt past its median still counts its expected residual', () => {
  const a = new WorkAccounting()
  a.assigned('n', 1, 't', 1000, 0, 0.5)
  // Before it starts running long: about the mean, exp(0.125) x 1000.
  assert.ok(Math.abs(a.backlogMs('n', 0) - 1133) < 2)
  // Twice its median in, it is expected to need more, not nothing.
  const late = a.backlogMs('n', 2000)
  assert.ok(late > 400 && late < 1000, `residual at 2x the median ${late}`)
  // Far in the tail the residual keeps growing with the elapsed time (log-normal mean residual life).
  assert.ok(a.backlogMs('n', 1e6) > a.backlogMs('n', 1e5))
  assert.ok(Math.abs(residualMs(1000, 0, 400) - 600) < 1e-9)
  assert.ok(Math.abs(upperTail(0) - 0.5) < 1e-7 && Math.abs(upperTail(1.2816) - 0.1) < 1e-4)
})

test('eect on learnt speeds does not starve a fast node whose first runs were slow (the half-speed failure, issue 11)', () => {
  // Three nodes of 16 slots, a job every 25 ms (~1/20 of capacity), 100 ms jobs on a and b and on
  // c, whose first 16 runs took 340 ms (a stalled host). Each completion feeds the predictor.
  const predictor = new DurationPredictor()
  const eect = new EectPlacement(predictor, new SeededRandom(5))
  const running: Array<{ node: string; endsAt: number }> = []
  const placed: Record<string, number> = { a: 0, b: 0, c: 0 }
  for (let i = 0; i < 40; i++) predictor.observe('t', 100, i % 2 === 0 ? 'a' : 'b')
  for (let i = 0; i < 16; i++) predictor.observe('t', 340, 'c')
  assert.ok(predictor.speed('c') / predictor.speed('a') < 0.75, 'c starts mislearnt')
  for (let now = 0; now < 60_000; now += 25) {
    for (let j = running.length - 1; j >= 0; j--) {
      if (running[j]!.endsAt > now) continue
      eect.released(running[j]!.node, 't', now)
      predictor.observe('t', 100, running[j]!.node)
      running.splice(j, 1)
    }
    const candidates = ['a', 'b', 'c'].map((node) => peer(node, running.filter((r) => r.node === node).length, { capacity: 16 }))
    const node = eect.choose('t', candidates, { id: `j${now}`, nowMs: now, wallMs: now, durationHintMs: null, deadline: null })!
    if (now >= 30_000) placed[node]!++
    running.push({ node, endsAt: now + 100 })
  }
  const ratio = predictor.speed('c') / predictor.speed('a')
  assert.ok(ratio > 0.85 && ratio < 1.15, `c relearnt at its true speed: ${ratio}`)
  assert.ok(placed.c! > 0.2 * (placed.a! + placed.b! + placed.c!), `c gets its share in the second half: ${JSON.stringify(placed)}`)
})
