// Goal: imports go down. protocols/ (wire types, codecs, their errors) imports nothing of ours;
// the runtime in src/ imports only protocols/ and itself; the system actors in actors/ build on
// protocols/ and on the runtime through its one internal entry (src/internal.ts); the adapters under src/adapters/ are bound only by the assembly (src/node/, src/cli/);
// src/index.ts (the package entry) exports the runtime and the assembly but no actor or adapter;
// sim/ may use everything. Method: list every module specifier of every file in protocols/, src/,
// actors/ and sim/ with the TypeScript scanner (static, type-only, re-exports, dynamic import(),
// require()), resolve the relative ones, and flag each that points to a layer its file may not use.
// Also: no module reaches itself through its imports (a cycle hides which module is the lower one).
import assert from 'node:assert/strict'
import { readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { test } from 'node:test'
import ts from 'typescript'
import { ALLOWED, findViolations, ROOT, SCANNED, sources, target, withoutExtension } from './layers.js'

test('every import in protocols/, src/, actors/ and sim/ goes down the layers', () => {
  const violations: string[] = []
  const scanned = new Map<string, number>()
  for (const dir of SCANNED) {
    for (const path of sources(join(ROOT, dir))) {
      const rel = relative(ROOT, path).split('\\').join('/')
      scanned.set(dir, (scanned.get(dir) ?? 0) + 1)
      violations.push(...findViolations(rel, readFileSync(path, 'utf8')))
    }
  }
  for (const dir of SCANNED) assert.ok((scanned.get(dir) ?? 0) >= 5, `scanned ${scanned.get(dir) ?? 0} files in ${dir}/`)
  assert.deepEqual(violations, [])
})

/** The repository-relative path of the source file an import target names (`x.js` is `x.ts`). */
function sourceOf(path: string): string {
  for (const candidate of [path, path.replace(/\.js$/, '.ts'), path.replace(/\.mjs$/, '.mts'), path.replace(/\.cjs$/, '.cts')]) {
    if (statSync(join(ROOT, candidate), { throwIfNoEntry: false })?.isFile() === true) return candidate
  }
  return path
}

/** One import cycle of `graph` as `a -> b -> a`, or undefined if it has none. */
export function findCycle(graph: ReadonlyMap<string, readonly string[]>): string | undefined {
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const visit = (node: string): string | undefined => {
    state.set(node, 'open')
    stack.push(node)
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') return [...stack.slice(stack.indexOf(next)), next].join(' -> ')
      if (state.get(next) === undefined) {
        const cycle = visit(next)
        if (cycle !== undefined) return cycle
      }
    }
    stack.pop()
    state.set(node, 'done')
    return undefined
  }
  for (const node of [...graph.keys()].sort()) {
    if (state.get(node) !== undefined) continue
    const cycle = visit(node)
    if (cycle !== undefined) return cycle
  }
  return undefined
}

test('no module imports itself through other modules', () => {
  const graph = new Map<string, string[]>()
  for (const dir of SCANNED) {
    for (const path of sources(join(ROOT, dir))) {
      const rel = relative(ROOT, path).split('\\').join('/')
      const targets = ts.preProcessFile(readFileSync(path, 'utf8'), true, true).importedFiles.map((f) => target(rel, f.fileName))
      graph.set(rel, [...new Set(targets.filter((t) => t !== undefined).map(sourceOf))])
    }
  }
  assert.equal(findCycle(graph), undefined)
  assert.equal(
    findCycle(
      new Map([
        ['a', ['b']],
        ['b', ['c']],
        ['c', ['b']],
      ]),
    ),
    'b -> c -> b',
  )
})

test('every allowed exception is still in use', () => {
  for (const { from, to } of ALLOWED) {
    const path = ['.ts', '.mts', '.mjs'].map((ext) => join(ROOT, from + ext)).find((p) => statSync(p, { throwIfNoEntry: false }) !== undefined)
    assert.ok(path !== undefined, `${from} does not exist`)
    const used = ts.preProcessFile(readFileSync(path, 'utf8'), true, true).importedFiles.some((f) => withoutExtension(target(`${from}.ts`, f.fileName) ?? '') === to)
    assert.ok(used, `${from} no longer imports ${to}: drop the exception`)
  }
})

test('the checker flags imports that go up or sideways, in every form, and passes those that go down', () => {
  const bad: Array<[string, string]> = [
    ['protocols/jobs/codec.ts', "import { showValue } from '../../src/errors.js'"],
    ['protocols/errors.ts', "import type { JobSpec } from '../src/jobs/types.js'"],
    ['protocols/x.ts', "export { clusterActor } from '../actors/cluster.js'"],
    ['src/jobs/client.ts', "import type { ClusterHandle } from '../../actors/cluster.js'"],
    ['src/jobs/client.ts', "type H = import('../../actors/cluster.js').ClusterHandle"],
    ['src/jobs/client.ts', "const m = await import('../node/start.js')"],
    ['src/actor/system.ts', "import { run } from '../../sim/run.js'"],
    ['src/net/remoting.ts', "import { libp2pNetwork } from '../adapters/libp2p/index.js'"],
    ['src/index.ts', "export type { ExecutorStats } from '../actors/executor.js'"],
    ['src/index.ts', "export { createRedisCache } from './adapters/redis/result-cache.js'"],
    ['actors/scheduler.ts', "import { startNode } from '../src/node/start.js'"],
    ['actors/scheduler.ts', "import { SchedulerCore } from '../src/jobs/scheduler-core.js'"],
    ['src/jobs/scheduler-core.ts', "import type { ClusterHandle } from '../internal.js'"],
    ['actors/scheduler.ts', "import { KafkaJobLog } from '../src/adapters/kafka/job-log.js'"],
    ['src/adapters/redis/result-cache.ts', "import { server } from '../http/server.js'"],
    ['src/adapters/redis/result-cache.ts', "import { assemble } from '../../node/assemble.js'"],
    ['src/errors.ts', "const x = require('../test/helpers/peers.js')"],
    ['src/dashboard/hub.ts', "import { startNode } from '../node/start.js'"],
  ]
  for (const [path, line] of bad) assert.equal(findViolations(path, line).length, 1, `${path}: ${line}`)
  const fine: Array<[string, string]> = [
    ['protocols/jobs/codec.ts', "import { Packr } from 'msgpackr'\nimport { showValue } from '../errors.js'"],
    ['src/jobs/client.ts', "import type { ClusterHandle } from '../cluster/handle.js'\nimport { x } from '../../protocols/jobs/codec.js'"],
    ['actors/cluster.ts', "import { ClusterCore, type Ask } from '../src/internal.js'\nimport { y } from './scheduler.js'\nimport { z } from '../protocols/cluster/codec.js'"],
    ['src/node/assemble.ts', "import { clusterActor } from '../../actors/cluster.js'\nimport { s } from '../adapters/http/server.js'"],
    ['src/cli/start.ts', "import { startNode } from '../node/start.js'\nimport { generateClusterSecret } from '../adapters/libp2p/index.js'"],
    ['src/adapters/libp2p/network.ts', "import { t } from './errors.js'\nimport type { Network } from '../../net/types.js'"],
    ['src/index.ts', "export { startNode } from './node/start.js'\nexport type { ClusterHandle } from './cluster/handle.js'"],
    ['sim/scenarios/jobs/index.ts', "import { assemble } from '../../../src/node/assemble.js'\nimport { clusterActor } from '../../../actors/cluster.js'"],
    ['src/cli/main.ts', "const m = await import('../../sim/cli.js')"],
    ['src/dashboard/hub.ts', "import type { StatusDocument } from '../node/http-api.js'"],
    ['src/jobs/x.ts', "const text = `import { clusterActor } from '../../actors/cluster.js'` // a string, not an import"],
  ]
  for (const [path, source] of fine) assert.deepEqual(findViolations(path, source), [], `${path}: ${source}`)
})
