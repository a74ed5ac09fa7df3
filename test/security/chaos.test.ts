// Goal: under a short fault campaign (kill -9 of the leader or any peer, SIGSTOP/SIGCONT,
// restarts; as root also partitions, packet loss and a full disk between separate hosts) no
// acknowledged job is lost, none has two results and none appears that nobody submitted, and the
// cluster recovers afterwards. Method: test/chaos/campaign.ts with three real peers (each in its own
// network namespace when possible) for 15 s of faults (the full campaign is `npm run chaos`). A
// failing run prints its seed, problems and nemesis schedule; DX_CHAOS_SEED replays a seed.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runCampaign } from '../chaos/campaign.js'

test('a short fault campaign loses no acknowledged job, duplicates none and invents none', { timeout: 400_000 }, async (t) => {
  const seed = Number(process.env.DX_CHAOS_SEED ?? 20261128)
  const result = await runCampaign({ seed, seconds: 15, peers: 3, clients: 2 })
  const summary = `seed ${seed}: faults ${result.faults}, acked ${result.acked}, recovery ${result.recoveryMs} ms; problems: ${result.problems.slice(0, 10).join(' | ')}; schedule: ${JSON.stringify(result.schedule)}`
  t.diagnostic(
    `seed ${seed} (${result.setup}): faults ${result.faults}, acked ${result.acked}, lost ${result.lost}, duplicated ${result.duplicated}, unexpected ${result.unexpected}, recovery ${result.recoveryMs} ms`,
  )
  for (const log of result.logs) t.diagnostic(log)
  assert.ok(result.faults > 0, summary)
  assert.ok(result.acked > 0, summary)
  assert.equal(result.lost, 0, summary)
  assert.equal(result.duplicated, 0, summary)
  assert.equal(result.unexpected, 0, summary)
  assert.deepEqual(result.problems, [], summary)
})
