// The fuzz script: `npm run bench -- fuzz [--cases 1000000] [--seed N] [--http-share 0.05]`.
// Runs every target of test/fuzz/targets.ts (wire codecs, configuration, and the HTTP API of a real
// in-process node) with its share of the cases, seeded, and stops a target at its first finding
// (fast-check prints the shrunk input and the seed to replay it). Last line:
// {"bench":"fuzz","cases":N,"seed":S,"findings":N,"targets":{name: cases},"seconds":N}
import { parseArgs } from 'node:util'
import { casesPerTarget, codecTargets, httpTarget, type FuzzTarget } from '../fuzz/targets.js'
import { fuzzNode } from '../fuzz/node.js'

const { values } = parseArgs({ options: { cases: { type: 'string', default: '1000000' }, seed: { type: 'string' }, 'http-share': { type: 'string', default: '0.05' } } })
const total = Number(values.cases)
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed)
const httpShare = Number(values['http-share'])
const started = Date.now()
const node = await fuzzNode()
const findings: string[] = []
const perTarget: Record<string, number> = {}
try {
  const codecs = codecTargets()
  const httpCases = Math.round(total * httpShare)
  const runs: Array<[FuzzTarget, number]> = [
    ...codecs.map((t, i) => [t, casesPerTarget(codecs, total - httpCases)[i]!] as [FuzzTarget, number]),
    [httpTarget(node.host, node.port, 1), httpCases],
  ]
  for (const [i, [target, cases]] of runs.entries()) {
    const t0 = Date.now()
    try {
      await target.run(cases, seed + i)
      console.error(`${target.name}: ${cases} cases, no finding (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
    } catch (error) {
      findings.push(`${target.name}: ${(error as Error).message}`)
      console.error(`${target.name}: FINDING (seed ${seed + i})\n${(error as Error).message}`)
    }
    perTarget[target.name] = cases
  }
} finally {
  await node.close()
}
const cases = Object.values(perTarget).reduce((a, b) => a + b, 0)
console.log(JSON.stringify({ bench: 'fuzz', cases, seed, findings: findings.length, targets: perTarget, seconds: Math.round((Date.now() - started) / 1000) }))
process.exit(findings.length === 0 ? 0 : 1)
