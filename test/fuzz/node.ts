/**
 * A real single-node cluster in this process with its HTTP API on a free loopback port, running
 * only the `noop` job type (so fuzzed submissions cannot start long work), for the HTTP fuzz target.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { noop } from '../../src/cli/demo-jobs.js'
import { resolveConfig } from '../../src/node/config.js'
import { startNode } from '../../src/node/start.js'

export async function fuzzNode(): Promise<{ host: string; port: number; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'dx-fuzz-node-'))
  const config = resolveConfig({ listen: '/ip4/127.0.0.1/tcp/0', http: '127.0.0.1:0', dataDir: join(dir, 'data'), logLevel: 'error' }, {})
  const node = await startNode(config, [noop])
  const [host, port] = node.http!.split(':') as [string, string]
  // Submissions need a leader: wait until this founder leads.
  for (let i = 0; i < 300 && node.cluster.view()?.leader == null; i++) await new Promise((r) => setTimeout(r, 100))
  return {
    host,
    port: Number(port),
    async close() {
      await node.stop({ timeoutMs: 2000 })
      await rm(dir, { recursive: true, force: true })
    },
  }
}
