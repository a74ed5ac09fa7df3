// Goal: the commander program behind `distributex` helps and refuses clearly: every command and
// subcommand answers --help (and `help <command>`) with its usage, options and examples; unknown
// options, bad values and missing arguments are one line naming the command and its --help, exit 2;
// and the typed values reach the commands: the right requests with the right query, body and token
// (checked against a fake node), flags before DX_* variables for `start`, DX_HTTP and
// DX_HTTP_TOKEN_FILE for the client commands. The command lines run in one process
// (run-batch.ts), so the whole file costs one tsx start-up.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { sourceDir } from '../helpers/paths.js'

const ROOT = join(sourceDir(import.meta.dirname), '..', '..')
const BATCH = join(sourceDir(import.meta.dirname), 'run-batch.ts')

interface Result {
  code: number
  stdout: string
  stderr: string
}

/** Runs the command lines in one child process; their results in order. */
async function batch(cases: Array<{ argv: string[]; env?: Record<string, string> }>): Promise<Result[]> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', import.meta.resolve('tsx'), BATCH, JSON.stringify(cases)], {
    cwd: dir,
    env: Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('DX_'))),
    maxBuffer: 64 * 1024 * 1024,
  })
  return JSON.parse(stdout) as Result[]
}

/** One line on stderr, without a stack trace. */
function assertOneLine(result: Result, what: string): void {
  assert.equal(result.stderr.endsWith('\n') && result.stderr.trimEnd().split('\n').length, 1, `${what}: ${result.stderr}`)
  assert.doesNotMatch(result.stderr, /^\s+at /m, what)
}

interface Request {
  method: string
  url: string
  authorization: string | undefined
  body: unknown
}

let dir: string
let node: Server
let address: string
const requests: Request[] = []

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dx-cli-parsing-'))
  // A node's HTTP API, as far as the commands below need one.
  node = createServer((req, res) => {
    let text = ''
    req.on('data', (chunk: Buffer) => (text += chunk.toString()))
    req.on('end', () => {
      requests.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body: text === '' ? undefined : JSON.parse(text) })
      const reply = (status: number, json: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json))
      const url = req.url!
      if (url.startsWith('/jobs?') && req.method === 'GET') reply(200, { jobs: [], next: null })
      else if (url.startsWith('/jobs/refused')) reply(400, { error: { name: 'InvalidJobError', message: 'refused' } })
      else if (url.startsWith('/jobs/busy')) reply(503, { error: { name: 'NoLeaderError', message: 'no leader' } })
      else if (url.startsWith('/jobs') && req.method === 'POST' && url.endsWith('/cancel')) reply(200, { cancelled: true })
      else if (url.startsWith('/jobs')) reply(200, { id: 'j1', ok: false, error: { name: 'Error', message: 'failed' } })
      else if (url === '/status') reply(200, { nodeId: 'n1', leader: null, leading: false, addresses: [], members: [{ nodeId: 'n1', state: 'up' }] })
      else if (url.startsWith('/entities/')) reply(200, { ok: true, value: { balance: 3 } })
      else reply(404, { error: { name: 'NotFound', message: url } })
    })
  })
  await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve))
  address = `127.0.0.1:${(node.address() as AddressInfo).port}`
})

after(async () => {
  await new Promise((resolve) => node.close(resolve))
  await rm(dir, { recursive: true, force: true })
})

/** Each command and subcommand, with what its help must mention besides its usage line. */
const HELP: Record<string, string[]> = {
  start: [
    '--listen',
    '--bootstrap',
    '--secret-file',
    '--http ',
    '--http-token-file',
    '--http-host-names',
    '--data-dir',
    '--job-log',
    '--cache',
    '--actors',
    '--config',
    '--voters',
    '--voter-down-ms',
    '--placement',
    '--retain-jobs',
    '--retain-ms',
    '--alert-webhook',
    '--kafka-sasl',
    '--kafka-username',
    '--kafka-password-file',
    '--kafka-tls',
    '--kafka-ca-file',
    '--kafka-cert-file',
    '--kafka-key-file',
    '--kafka-replication-factor',
    '--kafka-min-insync-replicas',
    '--redis-username',
    '--redis-password-file',
    '--redis-ca-file',
    '--log-level',
    '--log-format',
    '--gossip-interval-ms',
    '--lease-ms',
    'DX_LISTEN',
    'examples:',
    'exit codes:',
  ],
  secret: ['--out <path>', 'examples:'],
  token: ['--out <path>', 'examples:'],
  status: ['--http <host:port>', '--http-token-file <path>', 'DX_HTTP', '--json', 'examples:', 'exit codes:'],
  members: ['--http <host:port>', 'list [options]', 'remove <nodeId>', 'examples:'],
  'members list': ['--json', '--http <host:port>'],
  'members remove': ['<nodeId>', '--http-token-file', '--progress'],
  entities: ['--http <host:port>', 'list [options]', 'ask [options] <type> <key> <message-json>', 'examples:'],
  'entities list': ['--json'],
  'entities ask': ['--timeout-ms <ms>', '<message-json>'],
  submit: ['<type>', '[json-input]', '--wait', '--timeout-ms <ms>', '--options <json>', '--inputs <file>', '--progress', '--http <host:port>', 'examples:', 'exit codes:'],
  jobs: ['--http <host:port>', 'list [options]', 'inspect <id>', 'result <id>', 'cancel <id>', 'examples:'],
  'jobs list': ['--status <status>', 'running', '--limit <n>', '(default: 20)', '--json'],
  'jobs inspect': ['<id>'],
  'jobs result': ['<id>', 'exit 1', '--progress'],
  'jobs cancel': ['<id>'],
  top: ['--once', '--http <host:port>', 'examples:'],
  init: ['[dir]', 'examples:'],
  demo: ['--jobs <n>', '(default: 3000)', '--keep-leader', '--dir <dir>', 'examples:'],
  monitoring: ['rules', 'grafana', 'prometheus [options]', 'examples:'],
  'monitoring rules': [],
  'monitoring grafana': [],
  'monitoring prometheus': ['--targets <host:port,...>', '--rules-file <path>', '--scrape-interval <duration>'],
  log: ['verify <dir>', 'repair <dir>', 'examples:', 'exit codes:'],
  'log verify': ['<dir>'],
  'log repair': ['<dir>'],
}

test('every command and subcommand answers --help, -h and `help` with its usage, options and examples', { timeout: 60_000 }, async () => {
  const paths = Object.keys(HELP)
  const help = (path: string): string[] => path.split(' ')
  const results = await batch([
    ...paths.map((path) => ({ argv: [...help(path), '--help'] })),
    ...paths.map((path) => ({ argv: [...help(path), '-h'] })),
    ...paths.map((path) => ({ argv: path.includes(' ') ? [path.split(' ')[0]!, 'help', path.split(' ')[1]!] : ['help', path] })),
  ])
  paths.forEach((path, i) => {
    const [long, short, command] = [results[i]!, results[i + paths.length]!, results[i + 2 * paths.length]!]
    assert.deepEqual([long.code, long.stderr], [0, ''], `${path} --help`)
    assert.ok(long.stdout.startsWith(`usage: distributex ${path} `), `${path} --help starts with its usage:\n${long.stdout}`)
    for (const text of [...HELP[path]!, '-h, --help', '--debug']) assert.ok(long.stdout.includes(text), `${path} --help mentions ${text}:\n${long.stdout}`)
    assert.deepEqual(short, long, `${path} -h`)
    assert.deepEqual(command, long, `help ${path}`)
  })
})

test('the overall help lists every command; no command at all prints it too; sim parses its own arguments', { timeout: 30_000 }, async () => {
  const [help, none, sim, simArgs] = await batch([{ argv: ['--help'] }, { argv: [] }, { argv: ['sim', '--help'] }, { argv: ['sim', 'run', '--seed', 'x', '--nodes', '3'] }])
  assert.equal(help!.code, 0)
  assert.ok(help!.stdout.startsWith('usage: distributex [options] [command]'), help!.stdout)
  for (const command of ['start', 'secret', 'token', 'status', 'members', 'entities', 'submit', 'jobs', 'top', 'init', 'demo', 'monitoring', 'log', 'sim', 'help'])
    assert.match(help!.stdout, new RegExp(`^  ${command} `, 'm'), command)
  assert.match(help!.stdout, /-v, --version/)
  assert.match(help!.stdout, /exit codes: 0 done, 1 the job or operation failed, 2 usage error/)
  assert.deepEqual(none, help)
  assert.deepEqual([sim!.code, sim!.stdout.includes('distributex sim run')], [0, true], 'sim --help is the simulator’s own')
  // sim gets its arguments as they are, and keeps its own exit codes (3: harness error).
  assert.deepEqual([simArgs!.code, simArgs!.stderr.trim()], [3, 'sim: UsageError: --seed must be a non-negative integer, got "x"'])
})

test('--version, -v and version print the version', { timeout: 30_000 }, async () => {
  const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  for (const result of await batch([{ argv: ['--version'] }, { argv: ['-v'] }, { argv: ['version'] }]))
    assert.deepEqual(result, { code: 0, stdout: `distributex ${version} (node ${process.version})\n`, stderr: '' })
})

test('unknown options are one line naming the command and its --help, exit 2', { timeout: 30_000 }, async () => {
  const cases: Array<[string[], string]> = [
    [['start', '--no-such-option'], 'distributex start'],
    [['status', '--no-such-option'], 'distributex status'],
    [['members', '--no-such-option'], 'distributex members list'],
    [['members', 'remove', 'n1', '--no-such-option'], 'distributex members remove'],
    [['entities', '--no-such-option'], 'distributex entities list'],
    [['submit', 'double', '--no-such-option'], 'distributex submit'],
    [['jobs', 'list', '--no-such-option'], 'distributex jobs list'],
    [['jobs', 'cancel', 'j1', '--no-such-option'], 'distributex jobs cancel'],
    [['top', '--no-such-option'], 'distributex top'],
    [['init', '--no-such-option'], 'distributex init'],
    [['demo', '--no-such-option'], 'distributex demo'],
    [['secret', '--out', 'cluster.key', '--no-such-option'], 'distributex secret'],
    [['monitoring', 'rules', '--no-such-option'], 'distributex monitoring rules'],
    [['log', 'verify', dir, '--no-such-option'], 'distributex log verify'],
    [['--no-such-option'], 'distributex'],
  ]
  const results = await batch(cases.map(([argv]) => ({ argv })))
  cases.forEach(([argv, path], i) => {
    const result = results[i]!
    assert.equal(result.code, 2, argv.join(' '))
    assert.equal(result.stdout, '', argv.join(' '))
    assertOneLine(result, argv.join(' '))
    assert.equal(result.stderr, `${path}: Unknown option '--no-such-option' (${path} --help)\n`)
  })
  const [typo] = await batch([{ argv: ['status', '--jsn'] }])
  assert.equal(typo!.stderr, "distributex status: Unknown option '--jsn' (Did you mean --json?) (distributex status --help)\n")
})

test('bad values, missing and extra arguments, unknown commands: one line, exit 2', { timeout: 30_000 }, async () => {
  const cases: Array<[string[], RegExp]> = [
    [
      ['jobs', 'list', '--limit', 'x'],
      /^distributex jobs list: Option '--limit <n>' argument 'x' is invalid\. It must be a whole number of at least 1\. \(distributex jobs list --help\)$/,
    ],
    [['jobs', '--limit', '0'], /argument '0' is invalid/],
    [['jobs', 'list', '--status', 'done'], /argument 'done' is invalid\. Allowed choices are waiting, queued, retrying, running, completed, failed, cancelled/],
    [['demo', '--jobs', '1.5'], /^distributex demo: Option '--jobs <n>' argument '1\.5' is invalid/],
    [['submit', 'double', '--timeout-ms', '-1'], /Option '--timeout-ms <ms>' argument '-1' is invalid/],
    [['entities', 'ask', 'a', 'b', '{}', '--timeout-ms', 'soon'], /^distributex entities ask: Option '--timeout-ms <ms>' argument 'soon' is invalid/],
    [['status', '--http'], /^distributex status: Option '--http <host:port>' argument missing/],
    [['secret'], /^distributex secret: Required option '--out <path>' not specified \(distributex secret --help\)$/],
    [['token'], /^distributex token: Required option '--out <path>' not specified/],
    [['monitoring', 'prometheus'], /^distributex monitoring prometheus: Required option '--targets <host:port,\.\.\.>' not specified/],
    [['monitoring', 'prometheus', '--targets', ','], /^distributex monitoring prometheus: prometheus needs --targets/],
    [['submit'], /^distributex submit: Missing required argument 'type'/],
    [['submit', 'double', '{}', '--inputs', 'x.jsonl'], /^distributex submit: give either <json input> or --inputs <file>, not both \(distributex submit --help\)$/],
    [['submit', 'double', '{oops'], /^distributex submit: input is not JSON/],
    [['members', 'remove'], /^distributex members remove: Missing required argument 'nodeId'/],
    [['entities', 'ask', 'account', 'alice'], /Missing required argument 'message-json'/],
    [['jobs', 'inspect'], /^distributex jobs inspect: Missing required argument 'id'/],
    [['jobs', 'inspect', 'a', 'b'], /^distributex jobs inspect: Too many arguments for 'inspect'\. Expected 1 argument but got 2\./],
    [['jobs', 'nope'], /^distributex jobs list: Too many arguments for 'list'/],
    [['init', 'a', 'b'], /^distributex init: Too many arguments for 'init'/],
    [['log', 'verify'], /^distributex log verify: Missing required argument 'dir'/],
    [['log', 'check', dir], /^distributex log: Unknown command 'check'/],
    [['no-such-command'], /^distributex: Unknown command 'no-such-command' \(distributex --help\)$/],
    [['start', '--voters', '2'], /^distributex start: voters: 2 is not one of 1, 3, 5, 7 \(distributex start --help\)$/],
  ]
  const results = await batch(cases.map(([argv]) => ({ argv })))
  cases.forEach(([argv, message], i) => {
    const result = results[i]!
    assert.equal(result.code, 2, `${argv.join(' ')}: ${result.stderr}`)
    assertOneLine(result, argv.join(' '))
    assert.match(result.stderr.trimEnd(), message)
  })
  // A command that needs a subcommand and got none: its help, on stderr.
  for (const result of await batch([{ argv: ['monitoring'] }, { argv: ['log'] }, { argv: ['monitoring', '--debug'] }])) {
    assert.equal(result.code, 2)
    assert.match(result.stderr, /^usage: distributex (monitoring|log) \[options\] \[command\]/)
  }
  // --debug, anywhere, adds the stack.
  const [debug] = await batch([{ argv: ['--debug', 'jobs', 'list', '--limit', 'x'] }])
  assert.equal(debug!.code, 2)
  assert.match(debug!.stderr, /^\s+at /m)
})

test('typed values reach the node: query, body, token, DX_HTTP and DX_HTTP_TOKEN_FILE', { timeout: 30_000 }, async () => {
  const token = join(dir, 'http.token')
  await writeFile(token, 'secret-token\n')
  requests.length = 0
  const http = ['--http', address]
  const results = await batch([
    { argv: ['jobs', 'list', '--status', 'running', '--limit', '5', '--json', ...http] },
    { argv: ['jobs', ...http, '--limit', '7'] },
    { argv: ['members', '--json'], env: { DX_HTTP: address, DX_HTTP_TOKEN_FILE: token } },
    { argv: ['submit', 'double', '{"n":1}', '--wait', '--timeout-ms', '500', '--options', '{"priority":5}', ...http, '--http-token-file', token] },
    { argv: ['entities', 'ask', 'account', 'alice', '{"type":"balance"}', '--timeout-ms', '5000', '--http-token-file', token], env: { DX_HTTP: address } },
    { argv: ['jobs', 'cancel', 'a/b', ...http] },
    { argv: ['jobs', 'result', 'refused', ...http] },
    { argv: ['jobs', 'result', 'busy', ...http] },
    { argv: ['status', '--json', '--http', address] },
  ])
  const seen = requests.map((r) => [r.method, r.url, r.authorization ?? null, r.body ?? null])
  assert.deepEqual(seen, [
    ['GET', '/jobs?limit=5&status=running', null, null],
    ['GET', '/jobs?limit=7', null, null],
    ['GET', '/status', 'Bearer secret-token', null],
    ['POST', '/jobs?wait=1&timeoutMs=500', 'Bearer secret-token', { type: 'double', input: { n: 1 }, options: { priority: 5 } }],
    ['POST', '/entities/account/alice', 'Bearer secret-token', { message: { type: 'balance' }, timeoutMs: 5000 }],
    ['POST', '/jobs/a%2Fb/cancel', null, null],
    ['GET', '/jobs/refused/result', null, null],
    ['GET', '/jobs/busy/result', null, null],
    ['GET', '/status', null, null],
  ])
  const [list, bare, members, submit, ask, cancel, refused, busy, status] = results as [Result, Result, Result, Result, Result, Result, Result, Result, Result]
  assert.deepEqual([list.code, JSON.parse(list.stdout)], [0, []])
  assert.deepEqual([bare.code, bare.stdout], [0, 'no jobs\n'])
  assert.deepEqual([members.code, (JSON.parse(members.stdout) as Array<{ nodeId: string }>).map((m) => m.nodeId)], [0, ['n1']])
  assert.equal(submit.code, 1, 'the job failed')
  assert.deepEqual([ask.code, ask.stdout], [0, '{"balance":3}\n'])
  assert.deepEqual([cancel.code, cancel.stdout], [0, 'cancel requested\n'])
  // A request the node refused: exit 2, without a pointer to --help; an unavailable cluster: exit 3.
  assert.deepEqual([refused.code, refused.stderr], [2, 'distributex jobs result: InvalidJobError: refused\n'])
  assert.deepEqual([busy.code, busy.stderr], [3, 'distributex jobs result: NoLeaderError: no leader\n'])
  assert.equal((JSON.parse(status.stdout) as { nodeId: string }).nodeId, 'n1')
})

test('start: flags win over DX_* variables, which still apply; --actors repeats', { timeout: 60_000 }, async () => {
  const fixture = join(ROOT, 'test', 'fixtures', 'jobs-module.ts')
  const missing = join(dir, 'missing.mjs')
  const [flag, env, both, actors, envActors] = await batch([
    { argv: ['start', '--voters', '2'] },
    { argv: ['start'], env: { DX_VOTERS: '9' } },
    { argv: ['start', '--voters', '2'], env: { DX_VOTERS: '9' } },
    { argv: ['start', '--listen', '/ip4/127.0.0.1/tcp/0', '--http', 'off', '--data-dir', join(dir, 'data'), '--actors', fixture, '--actors', missing] },
    { argv: ['start', '--listen', '/ip4/127.0.0.1/tcp/0', '--http', 'off', '--data-dir', join(dir, 'data')], env: { DX_ACTORS: `${fixture},${missing}` } },
  ])
  assert.match(flag!.stderr, /voters: 2 is not one of/)
  assert.match(env!.stderr, /voters: 9 is not one of/)
  assert.match(both!.stderr, /voters: 2 is not one of/)
  for (const result of [actors!, envActors!]) {
    assert.equal(result.code, 2, result.stderr)
    assert.ok(result.stderr.startsWith(`distributex start: cannot load job module ${missing}:`), result.stderr)
  }
})
