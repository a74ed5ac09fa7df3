// Goal: the operator's side of the voter set: --voters/DX_VOTERS and --voter-down-ms are validated,
// `distributex members` renders roles, and POST /members/:id/remove maps each refusal to a typed
// HTTP error. Method: resolveConfig, formatMembers and the route with a stubbed removal.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { HttpError } from '../../src/adapters/http/server.js'
import { formatMembers } from '../../src/cli/members.js'
import type { RemoveReply } from '../../src/cluster/types.js'
import { ConfigError, resolveConfig } from '../../src/node/config.js'
import { nodeRoutes, type StatusDocument } from '../../src/node/http-api.js'

test('voters: 1, 3, 5 or 7 from flags or DX_VOTERS; voter-down-ms a positive duration', () => {
  assert.equal(resolveConfig({}, {}).voters, undefined)
  assert.equal(resolveConfig({ voters: '5' }, {}).voters, 5)
  assert.equal(resolveConfig({}, { DX_VOTERS: '7', DX_VOTER_DOWN_MS: '3000' }).voters, 7)
  assert.equal(resolveConfig({}, { DX_VOTER_DOWN_MS: '3000' }).voterDownMs, 3000)
  for (const bad of ['4', '0', '9', 'three']) assert.throws(() => resolveConfig({ voters: bad }, {}), ConfigError, bad)
  assert.throws(() => resolveConfig({ voterDownMs: '-1' }, {}), ConfigError)
})

test('distributex members shows the leader first, then voters, then workers, with state and last seen', () => {
  const status: StatusDocument = {
    nodeId: 'b',
    clusterId: 'c0ffee',
    addresses: [],
    leader: { nodeId: 'a', epoch: 4 },
    leading: false,
    members: [
      { nodeId: 'w', state: 'down', voter: false, role: 'worker', lastSeenMsAgo: 40_000, addresses: ['/ip4/10.0.0.9/tcp/7400'] },
      { nodeId: 'b', state: 'up', voter: true, role: 'voter', lastSeenMsAgo: 0, addresses: [] },
      { nodeId: 'a', state: 'up', voter: true, role: 'leader', lastSeenMsAgo: 120, addresses: [] },
    ],
  }
  const lines = formatMembers(status).split('\n')
  assert.match(lines[0]!, /^cluster c0ffee +leader a \(epoch 4\) +2 voters, 1 workers$/)
  assert.match(lines[3]!, /^a +leader +up +120 ms ago/)
  assert.match(lines[4]!, /^b \(this\) +voter +up +-/)
  assert.match(lines[5]!, /^w +worker +down +40000 ms ago +\/ip4\/10\.0\.0\.9\/tcp\/7400$/)
})

test('POST /members/:id/remove: 200 when removed, typed errors for each refusal', async () => {
  let reply: RemoveReply = { ok: true }
  const asked: string[] = []
  const routes = nodeRoutes({
    status: () => assert.fail('not used'),
    metrics: () => assert.fail('not used'),
    metricsContentType: 'text/plain',
    jobs: undefined as never,
    timers: undefined as never,
    removeMember: async (id) => {
      asked.push(id)
      return reply
    },
  })
  const route = routes.find((r) => r.method === 'POST' && r.pattern === '/members/:id/remove')!
  const call = async () => route.handle({ params: { id: 'n7' }, query: new URLSearchParams(), signal: new AbortController().signal, body: undefined })
  assert.deepEqual(await call(), { status: 200, json: { removed: 'n7' } })
  const expected: Array<[RemoveReply, number, string]> = [
    [{ ok: false, reason: 'not-member', leader: 'n0' }, 404, 'ERR_NOT_A_MEMBER'],
    [{ ok: false, reason: 'not-down', leader: 'n0' }, 409, 'ERR_MEMBER_NOT_DOWN'],
    [{ ok: false, reason: 'self', leader: 'n7' }, 409, 'ERR_MEMBER_IS_LEADER'],
    [{ ok: false, reason: 'busy', leader: 'n0' }, 503, 'ERR_CONFIG_CHANGE_IN_PROGRESS'],
    [{ ok: false, reason: 'no-leader', leader: null }, 503, 'ERR_NO_LEADER'],
  ]
  for (const [refusal, status, code] of expected) {
    reply = refusal
    await assert.rejects(call(), (error: unknown) => error instanceof HttpError && error.status === status && error.code === code && error.message.startsWith('n7 '))
  }
  assert.deepEqual(asked, Array(6).fill('n7'))
})
