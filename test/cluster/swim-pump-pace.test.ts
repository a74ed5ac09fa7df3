// Goal: the cluster actor's SWIM side asks for no tick of its own for load figures when a SWIM tick
// comes within one load period after them, so an answered probe leaves no tick at its timeout; load
// figures are never later than one period past due. Method: pumpTickAt driven over a probe schedule.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { pumpTickAt } from '../../src/cluster/swim-pump.js'

test('load figures ride on the next SWIM tick within a period, else get their own', () => {
  assert.equal(pumpTickAt(500, 200, 500), 500, 'the probe at 500 takes the load due at 200')
  assert.equal(pumpTickAt(100, 200, 500), 100, 'a SWIM deadline first: that one')
  assert.equal(pumpTickAt(800, 200, 500), 200, 'no SWIM tick within a period: the load gets its own')
  assert.equal(pumpTickAt(Infinity, 200, 500), 200)
})

test('probes every 500 ms answered at once: one tick per probe, loads every probe after the first', () => {
  // The old rule (min of both) with a load taken at a timeout tick: ticks at the probe and at its timeout, forever.
  const ticksOf = (next: (swimDue: number, loadDue: number) => number): { ticks: number; maxLoadGap: number } => {
    let now = 0
    let loadAt = -300 // taken at the previous probe's timeout tick (200 ms after it)
    let ticks = 0
    let maxLoadGap = 0
    let probeAt = 0
    while (now < 10_000) {
      // A probe at probeAt answered 2 ms later: SWIM's next deadline is the next probe.
      const swimDue = now < probeAt ? probeAt : probeAt + 500
      if (now >= probeAt) probeAt += 500
      now = next(swimDue, loadAt + 500)
      ticks++
      if (now - loadAt >= 500) {
        maxLoadGap = Math.max(maxLoadGap, now - loadAt)
        loadAt = now
      }
    }
    return { ticks, maxLoadGap }
  }
  const paced = ticksOf((swimDue, loadDue) => pumpTickAt(swimDue, loadDue, 500))
  assert.ok(paced.ticks <= 21, `${paced.ticks} ticks in 10 s`)
  assert.ok(paced.maxLoadGap < 1000, `loads at most ${paced.maxLoadGap} ms apart`)
  const before = ticksOf((swimDue, loadDue) => Math.min(swimDue, loadDue))
  assert.ok(before.ticks >= 39, `the old rule: ${before.ticks} ticks in 10 s`)
})
