// Goal: the replica-disk scenario drives every node's replica log through crashes, power losses,
// broken and full disks with no promised entry lost and every node working again after the heal;
// and its checker is not vacuous: acknowledging writes before they are durable is caught.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { FaultAction } from '../../sim/faults/schedule.js'
import { runSimulation, type SimOptions } from '../../sim/run.js'
import { replicaDiskScenario } from '../../sim/scenarios/replica-disk/index.js'

const base: SimOptions = { seed: 1, nodes: 5, durationMs: 200_000, faults: ['power-loss', 'disk-broken', 'disk-full', 'crash'], mode: 'liveness', swarm: false }

test('no promised entry is lost under disk faults, and every node recovers after the heal', async () => {
  const kinds = new Set<string>()
  let failedTotal = 0
  for (const seed of [1, 2, 3]) {
    const result = await runSimulation(replicaDiskScenario(), { ...base, seed })
    assert.deepEqual(result.violations, [], `seed ${seed}: ${result.violations[0]?.message}\n${result.logTail.slice(-20).join('\n')}`)
    assert.ok(result.liveness?.convergedAtMs !== undefined, `seed ${seed} did not converge`)
    for (const action of result.schedule) kinds.add(action.kind)
    const [, mutations, reopens, failed] = /mutations (\d+), reopens (\d+), failed mutations (\d+)/.exec(result.summary) ?? []
    assert.ok(Number(mutations) > 500 && Number(reopens) > 3, `seed ${seed}: ${result.summary}`)
    failedTotal += Number(failed)
  }
  for (const kind of ['power-loss', 'disk-broken', 'disk-full']) assert.ok(kinds.has(kind), `no seed drew ${kind}`)
  assert.ok(failedTotal > 0, 'some mutations failed on a broken or full disk')
})

test('the checker catches writes acknowledged before they are durable', async () => {
  let caught = 0
  // A power loss on some node every 300 ms, each restarted 100 ms later.
  const schedule: FaultAction[] = []
  for (let k = 0, at = 1000; at < 30_000; k++, at += 300) {
    const node = `n${k % 5}`
    schedule.push({ atMs: at, kind: 'power-loss', node }, { atMs: at + 100, kind: 'restart', node })
  }
  for (const seed of [1, 2, 3, 4, 5]) {
    const result = await runSimulation(replicaDiskScenario({ bugs: ['ack-early'] }), { ...base, seed, durationMs: 31_000, faults: [], mode: 'safety', schedule })
    if (result.violations.some((v) => v.invariant === 'replica-durability')) caught++
  }
  assert.ok(caught >= 3, `caught in only ${caught} of 5 seeds`)
})
