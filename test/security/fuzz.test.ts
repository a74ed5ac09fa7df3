// Goal: every decoder and entry point refuses bad input with a typed error and never crashes: a
// short run of the fuzz script's targets (test/fuzz/targets.ts), 20,000 cases over the wire codecs
// and the configuration and 1,500 requests to a real node's HTTP API. The full run is
// `npm run bench -- fuzz` (1,000,000 cases). Seeded by DX_FUZZ_SEED, or a fixed seed.
import { after, before, test } from 'node:test'
import { casesPerTarget, codecTargets, httpTarget } from '../fuzz/targets.js'
import { fuzzNode } from '../fuzz/node.js'

const SEED = Number(process.env.DX_FUZZ_SEED ?? 20261128)
let node: Awaited<ReturnType<typeof fuzzNode>> | undefined

before(async () => {
  node = await fuzzNode()
})
after(async () => {
  await node?.close()
})

test('20,000 cases over the wire codecs and the configuration: decoded or refused with a typed error', async () => {
  const targets = codecTargets()
  const counts = casesPerTarget(targets, 20_000)
  for (let i = 0; i < targets.length; i++) await targets[i]!.run(counts[i]!, SEED + i)
})

test('1,500 requests to the HTTP API: every refusal is a typed error status, never a 500 or a dropped connection', { timeout: 120_000 }, async () => {
  await httpTarget(node!.host, node!.port, 1).run(1500, SEED)
})
