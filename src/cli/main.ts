/**
 * The `distributex` command line: handles the global options (--help, --version, --debug), hands
 * the command to its module, and turns what it throws into one line on stderr and an exit code.
 *
 * Exit codes: 0 done; 1 the job or the operation failed; 2 a usage error, bad settings, or a request
 * the node refused; 3 the node or the cluster is unavailable. (`distributex sim` keeps its own codes,
 * listed by `distributex sim help`.) A stack trace is printed only with --debug.
 */
import { createRequire } from 'node:module'
import { ConfigError } from '../node/config.js'
import { NodeRequestError, NodeUnavailableError } from './http-client.js'

export const EXIT = { ok: 0, failed: 1, usage: 2, unavailable: 3 } as const

const USAGE = `usage: distributex <command> [options]

commands:
  start     run a peer: --listen <multiaddr> --bootstrap <multiaddr,...> --secret-file <path> --http <host:port>
            --data-dir <dir> --job-log replicated|file:<dir>|kafka://host:port/<topic> --cache memory|redis://host:port
            --actors <module> --voters 1|3|5|7 --voter-down-ms <ms> --config <file.json>
            (settings also from DX_* environment variables)
  secret    write a new cluster secret: --out <path>
  token     write a new bearer token for the HTTP API: --out <path> (then --http-token-file <path>)
  status    show the cluster as a peer sees it: --http <host:port> [--json]
  members   list members with role, state and last seen: [--http <host:port>] [--json]
            remove a member that is down for good: members remove <nodeId> [--http <host:port>]
  entities  list entity activations per peer: [--http <host:port>] [--json]
            ask an entity: entities ask <type> <key> <message-json> [--timeout-ms N]
  submit    submit a job: <type> <json input> [--wait] [--options <json>] [--http <host:port>]
            or many: <type> --inputs <file> [--wait] (a progress bar on stderr)
  jobs      list | inspect <id> | result <id> | cancel <id>   [--status S] [--limit N] [--json] [--http <host:port>]
  top       a live view of members, load, throughput, latency and alerts: [--http <host:port>] [--once]
  init      scaffold a job project in [dir]: package.json, tsconfig.json, jobs.ts, submit.ts, README.md
  demo      start a local 3-peer cluster on the embedded defaults and run a workload (npm start)
            [--jobs N] [--keep-leader: no SIGKILL of the leader halfway] [--dir <dir>]
  monitoring  rules | grafana | prometheus --targets host:port,...: print the Prometheus rules, the
            Grafana dashboard JSON, or a Prometheus configuration scraping those peers
  log       verify <dir> | repair <dir>: check a file job log or replica log directory (exit 1 when
            corrupt); repair cuts a corrupt log at its last good frame (stop the node first)
  sim       deterministic simulation: run, check, swarm, replay, shrink (distributex sim help)
  help      show this text

options:
  <command> --help   the command's options        --version   print the version
  --debug            print stack traces with errors

exit codes: 0 done, 1 the job or operation failed, 2 usage error, bad settings or a refused request,
            3 the node or cluster is unavailable
`

const HTTP_OPTION = '  --http <host:port>   the node to ask (DX_HTTP; default 127.0.0.1:7401)\n  --http-token-file F  the API token, when the node has one (DX_HTTP_TOKEN_FILE)\n'

/** `distributex <command> --help`. A command without an entry here gets its line of USAGE. */
const HELP: Record<string, string> = {
  start: `usage: distributex start [options]

Runs one peer until SIGTERM or Ctrl-C, then leaves the cluster gracefully (a second Ctrl-C exits at
once). Settings come from flags, then DX_* environment variables, then the --config file, then defaults.

  --listen <multiaddr,...>     libp2p listen addresses (DX_LISTEN; default /ip4/0.0.0.0/tcp/7400)
  --bootstrap <multiaddr,...>  members to join, each with /p2p/<id> (DX_BOOTSTRAP; default: found a cluster)
  --secret-file <path>         the cluster secret (DX_SECRET_FILE; default <data-dir>/cluster.key, created)
  --http <host:port>           HTTP API and /metrics (DX_HTTP; default 127.0.0.1:7401; off: none)
  --http-token-file <path>     bearer token of the API, required beyond loopback (DX_HTTP_TOKEN_FILE)
  --http-host-names <names>    host names the API answers to besides its address (DX_HTTP_HOST_NAMES)
  --data-dir <dir>             identity, election state, embedded stores (DX_DATA_DIR; default .distributex/<port>)
  --job-log <url>              replicated (the default: each peer keeps a copy in <data-dir>/replica),
                               file:<dir> (one host; its peers share the directory) or
                               kafka://host:port[,host:port]/<topic> (DX_JOB_LOG)
  --cache <url>                memory or redis://host:port[/prefix], rediss:// for TLS (DX_CACHE; default memory)
  --kafka-sasl <mechanism>     plain, scram-sha-256 or scram-sha-512 (DX_KAFKA_SASL), with
  --kafka-username <name>      (DX_KAFKA_USERNAME) and --kafka-password-file <path> (DX_KAFKA_PASSWORD_FILE
                               or DX_KAFKA_PASSWORD; never on the command line)
  --kafka-tls on|off           TLS to the brokers (DX_KAFKA_TLS); on with any of --kafka-ca-file,
                               --kafka-cert-file, --kafka-key-file <path> (DX_KAFKA_CA_FILE, ...)
  --kafka-replication-factor <n>, --kafka-min-insync-replicas <n>
                               of the job-log topic it creates (DX_KAFKA_REPLICATION_FACTOR,
                               DX_KAFKA_MIN_INSYNC_REPLICAS; default 3 and 2)
  --redis-username <name>      Redis ACL user (DX_REDIS_USERNAME)
  --redis-password-file <path> Redis password (DX_REDIS_PASSWORD_FILE or DX_REDIS_PASSWORD)
  --redis-ca-file <path>       CA of a rediss:// Redis (DX_REDIS_CA_FILE)
  --actors <module>            a module whose exported job definitions this peer runs: .ts, .mts, .cts
                               (compiled on the fly), .js, .mjs, .cjs; repeatable (DX_ACTORS, comma-separated)
  --config <file.json>         a settings file (DX_CONFIG)
  --log-level <level>          debug, info, warn, error (DX_LOG_LEVEL; default info)
  --log-format <format>        json (one object per line on stderr), pretty (readable lines), or auto:
                               pretty on a terminal, json otherwise (DX_LOG_FORMAT; default auto);
                               secrets and tokens in log fields are always redacted
  --gossip-interval-ms <ms>    election timing (DX_GOSSIP_INTERVAL_MS; default 250)
  --lease-ms <ms>              election timing (DX_LEASE_MS; default 1000)

exit codes: 0 left gracefully, 2 bad settings (the message names the setting), 130 a second Ctrl-C
`,
  secret: `usage: distributex secret --out <path>

Writes a new cluster secret (mode 0600) to <path>; give the same file to every peer with --secret-file.
Refuses to overwrite an existing file (exit 1): replacing the secret cuts a peer off from its cluster.
`,
  token: `usage: distributex token --out <path>

Writes a new bearer token for the HTTP API (mode 0600) to <path>; start peers with --http-token-file
<path> and give the CLI the same file (--http-token-file or DX_HTTP_TOKEN_FILE). Refuses to overwrite
an existing file (exit 1).
`,
  status: `usage: distributex status [--http <host:port>] [--json]

Shows the cluster as one peer sees it: members, states, load, the leader and its epoch.
${HTTP_OPTION}  --json               the status document as JSON
exit codes: 0 done, 3 the node is unreachable
`,
  submit: `usage: distributex submit <type> <json input> [--wait] [--timeout-ms <ms>] [--options <json>] [--http <host:port>]
       distributex submit <type> --inputs <file> [--wait] [--progress] [--options <json>]

Submits a job and prints {"id": ...}; with --wait, waits for the outcome and prints {"id", "ok", "value" | "error"}.
  --wait               wait for the job's outcome
  --timeout-ms <ms>    how long --wait waits
  --options <json>     submit options, e.g. {"priority":5,"timeoutMs":10000,"retries":3,"idempotencyKey":"k"}
  --inputs <file>      one job per input: a JSON array or JSON lines ('-': stdin); prints one JSON line
                       per job in input order, exit 1 if any failed
  --progress           a progress bar on stderr even when it is not a terminal (on a terminal it always shows)
${HTTP_OPTION}exit codes: 0 submitted (or completed), 1 the job failed, 2 usage error or the node refused the job,
            3 the node or cluster is unavailable
`,
  jobs: `usage: distributex jobs [list [--status S] [--limit N] | inspect <id> | result <id> | cancel <id>] [--http <host:port>]

  list       jobs as a table, newest first (--status queued|running|completed|failed|cancelled, --limit N, default 20;
             --json: the jobs as a JSON array)
  inspect    one job's record as JSON
  result     one job's outcome as JSON (exit 1 if the job failed)
  cancel     request cancellation (exit 1 if there is no such job)
${HTTP_OPTION}`,
  monitoring: `usage: distributex monitoring rules | grafana | prometheus --targets <host:port,...> [--rules-file <path>] [--scrape-interval <d>]

  rules        the Prometheus recording and alert rules (YAML); save as distributex.rules.yml
  grafana      the Grafana dashboard (JSON); import it in Grafana and pick the Prometheus data source
  prometheus   a prometheus.yml scraping the given peers' HTTP APIs under job "distributex" and
               loading the rules from --rules-file (default distributex.rules.yml)
`,
  top: `usage: distributex top [--http <host:port>] [--http-token-file F] [--once]

A live view of the cluster through one peer, redrawn in place every second (Ctrl-C to quit): members
with role, state and load, throughput, latency P50/P99 and queue depth with a sparkline of the last
minute, alerts and the recent leaders. Works over SSH; follows leader changes; reconnects.
  --once               print one frame and exit (when stdout is not a terminal, top prints a frame a second
                       instead of redrawing)
${HTTP_OPTION}`,
  init: `usage: distributex init [dir]

Scaffolds a job project in <dir> (default: the current directory): package.json depending on this
version of DistributeX, tsconfig.json, jobs.ts with an example job (start a peer with
--actors ./jobs.ts), submit.ts submitting it through distributex/client, and a README with the
commands. Writes nothing if any of these files exists (exit 1).
`,
  demo: `usage: distributex demo [--jobs N] [--keep-leader] [--dir <dir>]

Starts a local 3-peer cluster on the embedded defaults, runs a workload, kills the leader halfway
and prints a summary (what \`npm start\` runs).
  --jobs N          how many jobs (default 3000)
  --keep-leader     do not SIGKILL the leader halfway
  --dir <dir>       where the peers keep their data (default .distributex/demo)
`,
}

/** The version from the package's own package.json (reached through the package's self-reference). */
function version(): string {
  return (createRequire(import.meta.url)('distributex/package.json') as { version: string }).version
}

/** Runs one CLI invocation and returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const debug = argv.includes('--debug')
  const [command, ...rest] = argv.filter((arg) => arg !== '--debug')
  if (command === '--version' || command === '-v' || command === 'version') {
    process.stdout.write(`distributex ${version()} (node ${process.version})\n`)
    return EXIT.ok
  }
  if (command !== undefined && command !== 'sim' && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(HELP[command] ?? (usageLine(command) || `unknown command ${JSON.stringify(command)}\n${USAGE}`))
    return EXIT.ok
  }
  try {
    switch (command) {
      case 'start':
        return await (await import('./start.js')).runStart(rest)
      case 'secret':
        return await (await import('./start.js')).runSecret(rest)
      case 'token':
        return await (await import('./start.js')).runToken(rest)
      case 'status':
        return await (await import('./status.js')).runStatus(rest)
      case 'members':
        return await (await import('./members.js')).runMembers(rest)
      case 'top':
        return await (await import('./top.js')).runTop(rest)
      case 'entities':
        return await (await import('./entities.js')).runEntities(rest)
      case 'submit':
        return await (await import('./jobs.js')).runSubmit(rest)
      case 'jobs':
        return await (await import('./jobs.js')).runJobs(rest)
      case 'init':
        return await (await import('./init.js')).runInit(rest)
      case 'demo':
        return await (await import('./demo.js')).runDemo(rest)
      case 'log':
        return await (await import('./log.js')).runLog(rest)
      case 'monitoring':
        return await (await import('./monitoring.js')).runMonitoring(rest)
      case 'sim':
        return await (await import('../../sim/cli.js')).simMain(rest.some((arg) => arg === '--help' || arg === '-h') ? ['help'] : rest)
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE)
        return EXIT.ok
      default:
        process.stderr.write(`unknown command ${JSON.stringify(command)}\n${USAGE}`)
        return EXIT.usage
    }
  } catch (error) {
    const code = exitCodeOf(error)
    const hint = code === EXIT.usage && command !== undefined && HELP[command] !== undefined ? ` (distributex ${command} --help)` : ''
    process.stderr.write(`distributex ${command}: ${describe(error, debug)}${hint}\n`)
    return code
  }
}

/** The exit code for an error a command threw. */
function exitCodeOf(error: unknown): number {
  if (error instanceof NodeUnavailableError) return EXIT.unavailable
  if (error instanceof ConfigError || error instanceof NodeRequestError) return EXIT.usage
  return isParseArgsError(error) ? EXIT.usage : EXIT.failed
}

/** node:util parseArgs rejects unknown options and bad values with these codes. */
function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')
}

/** One line for the user; the stack (and causes) with --debug. */
function describe(error: unknown, debug: boolean): string {
  if (!(error instanceof Error)) return String(error)
  if (debug) return error.stack ?? error.message
  const plain = error instanceof ConfigError || error instanceof NodeRequestError || error.name === 'Error' || isParseArgsError(error)
  return plain ? error.message : `${error.name}: ${error.message}`
}

/** The command's lines of the overall usage, or '' if it has none. */
function usageLine(command: string): string {
  const lines = USAGE.split('\n')
  const start = lines.findIndex((line) => line.startsWith(`  ${command} `))
  if (start < 0) return ''
  let end = start + 1
  while (end < lines.length && /^ {12}\S/.test(lines[end]!)) end++
  return `usage: distributex ${command} [options]\n${lines.slice(start, end).join('\n')}\n`
}
