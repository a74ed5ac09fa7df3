/**
 * The `distributex` command line: one commander program with a subcommand per command. It parses
 * and validates the options, writes every --help, and hands typed values to the command's module,
 * which is imported only when that command runs (so --help and --version stay fast). What a command
 * throws becomes one line on stderr and an exit code.
 *
 * Exit codes: 0 done; 1 the job or the operation failed; 2 a usage error, bad settings, or a request
 * the node refused; 3 the node or the cluster is unavailable. (`distributex sim` keeps its own codes,
 * listed by `distributex sim help`.) A stack trace is printed only with --debug.
 */
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { Command, CommanderError, Help, InvalidArgumentError, Option } from 'commander'
import type { AskOptions, EntitiesOptions } from './entities.js'
import type { NodeOptions } from './http-client.js'
import type { ListOptions, ResultOptions, SubmitOptions } from './jobs.js'
import type { MembersOptions, RemoveOptions } from './members.js'
import type { DemoOptions } from './demo.js'
import type { PrometheusOptions } from './monitoring.js'
import type { StartOptions } from './start.js'
import type { StatusOptions } from './status.js'
import type { TopOptions } from './top.js'
import type { JobStatus } from '../jobs/types.js'

export const EXIT = { ok: 0, failed: 1, usage: 2, unavailable: 3 } as const

const EXIT_CODES = `exit codes: 0 done, 1 the job or operation failed, 2 usage error, bad settings or a refused request,
            3 the node or cluster is unavailable`

/** What `jobs list --status` accepts: the job states the node filters by. */
const JOB_STATUSES = ['waiting', 'queued', 'retrying', 'running', 'completed', 'failed', 'cancelled'] as const satisfies readonly JobStatus[]

/** The version from the package's own package.json (reached through the package's self-reference). */
function version(): string {
  return (createRequire(import.meta.url)('distributex/package.json') as { version: string }).version
}

/** An option value parser: a whole number of at least `min`, else a usage error naming the option. */
function wholeNumber(min: number): (text: string) => number {
  return (text) => {
    const n = Number(text)
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`It must be a whole number of at least ${min}.`)
    return n
  }
}

/** Commander's help with the headings in lower case, as the rest of the CLI's output. */
function lowerCaseHelp(cmd: Command, helper: Help): string {
  return Help.prototype.formatHelp.call(helper, cmd, helper).replace(/^(Usage|Arguments|Options|Global Options|Commands):/gm, (heading) => heading.toLowerCase())
}

/** `--http` and `--http-token-file`, on every command that talks to a node. */
function withNode(command: Command): Command {
  return command
    .option('--http <host:port>', 'the node to ask (DX_HTTP; default 127.0.0.1:7401)')
    .option('--http-token-file <path>', 'the API token, when the node has one (DX_HTTP_TOKEN_FILE)')
}

/** An "examples" section after a command's help. */
function examples(...lines: string[]): string {
  return `\nexamples:\n${lines.map((line) => `  ${line}`).join('\n')}`
}

/** Every command of the program, the program first. */
function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)]
}

/** `distributex jobs list` from a command: the program's name and every parent's. */
function pathOf(command: Command): string {
  const names: string[] = []
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name())
  return names.join(' ')
}

/**
 * The program. `settle` receives the exit code of the command that ran; the command modules are
 * imported inside the actions, so building the program costs only commander itself.
 */
function program(settle: (code: number) => void): Command {
  const run = async (task: () => Promise<number> | number): Promise<void> => settle(await task())
  const versionLine = `distributex ${version()} (node ${process.version})`
  const root = new Command('distributex')
    .description('An actor-model runtime on a peer-to-peer mesh: run peers, submit and follow jobs, watch the cluster.')
    .configureHelp({ showGlobalOptions: true, formatHelp: lowerCaseHelp })
    .helpOption('-h, --help', 'show this help')
    .helpCommand('help [command]', "show a command's help")
    .allowExcessArguments(false)
    .version(versionLine, '-v, --version', 'print the version')
    .option('--debug', 'print stack traces with errors')
    .addHelpText('after', `\n${EXIT_CODES}\n\`distributex <command> --help\` shows a command's options, with examples.`)
  root.command('version', { hidden: true }).action(() => void process.stdout.write(`${versionLine}\n`))

  root
    .command('start')
    .summary('run a peer (settings also from DX_* environment variables)')
    .description(
      'Run one peer until SIGTERM or Ctrl-C, then leave the cluster gracefully (a second Ctrl-C exits at once). Settings come from flags, then DX_* environment variables, then the --config file, then defaults.',
    )
    .option('--listen <multiaddr,...>', 'libp2p listen addresses (DX_LISTEN; default /ip4/0.0.0.0/tcp/7400)')
    .option('--bootstrap <multiaddr,...>', 'members to join, each with /p2p/<id> (DX_BOOTSTRAP; default: found a cluster)')
    .option('--secret-file <path>', 'the cluster secret (DX_SECRET_FILE; default <data-dir>/cluster.key, created)')
    .option('--http <host:port>', 'HTTP API and /metrics (DX_HTTP; default 127.0.0.1:7401; off: none)')
    .option('--http-token-file <path>', 'bearer token of the API, required beyond loopback (DX_HTTP_TOKEN_FILE)')
    .option('--http-host-names <names>', 'host names the API answers to besides its address, comma-separated (DX_HTTP_HOST_NAMES)')
    .option('--data-dir <dir>', 'identity, election state, embedded stores (DX_DATA_DIR; default .distributex/<port>)')
    .option(
      '--job-log <url>',
      'replicated (the default: each peer keeps a copy in <data-dir>/replica), file:<dir> (one host; its peers share the directory) or kafka://host:port[,host:port]/<topic> (DX_JOB_LOG)',
    )
    .option('--cache <url>', 'memory or redis://host:port[/prefix], rediss:// for TLS (DX_CACHE; default memory)')
    .option(
      '--actors <module>',
      'a module whose exported job definitions this peer runs: .ts, .mts, .cts (compiled on the fly), .js, .mjs, .cjs; repeatable (DX_ACTORS, comma-separated)',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--config <file.json>', 'a settings file (DX_CONFIG)')
    .option('--voters <n>', 'voters the leader keeps: 1, 3, 5 or 7 (DX_VOTERS; default 3 below 5 members, then 5)')
    .option('--voter-down-ms <ms>', 'a voter down this long is replaced by a live worker (DX_VOTER_DOWN_MS; default 30000)')
    .option(
      '--membership <mode>',
      'swim: workers are probed by SWIM and send records only on changes; gossip: every member gossips its record to all, for a handful of peers; the same on every peer (DX_MEMBERSHIP; default swim)',
    )
    .option('--placement <policy>', 'where the leader runs jobs: eect, wlc, eect-pull, ... (DX_PLACEMENT; default eect)')
    .option('--steal <on|off>', 'idle peers take jobs still queued on busier ones, through the leader (DX_STEAL; default on)')
    .option('--job-order <order>', 'fifo, or critical-path: workflows of dependent jobs by latest start time (DX_JOB_ORDER; default fifo)')
    .option('--retain-jobs <n>', 'finished jobs the leader keeps readable (DX_RETAIN_JOBS; default 10000)')
    .option('--retain-ms <ms>', 'and for how long (DX_RETAIN_MS; default 86400000)')
    .option('--alert-webhook <url>', 'an http(s) URL the leader posts alerts to (DX_ALERT_WEBHOOK)')
    .option('--kafka-sasl <mechanism>', 'plain, scram-sha-256 or scram-sha-512 (DX_KAFKA_SASL)')
    .option('--kafka-username <name>', 'SASL user (DX_KAFKA_USERNAME)')
    .option('--kafka-password-file <path>', 'SASL password (DX_KAFKA_PASSWORD_FILE or DX_KAFKA_PASSWORD; never on the command line)')
    .option('--kafka-tls <on|off>', 'TLS to the brokers (DX_KAFKA_TLS); on with any of the three files below')
    .option('--kafka-ca-file <path>', 'CA of the brokers (DX_KAFKA_CA_FILE)')
    .option('--kafka-cert-file <path>', 'client certificate (DX_KAFKA_CERT_FILE)')
    .option('--kafka-key-file <path>', 'client key (DX_KAFKA_KEY_FILE)')
    .option('--kafka-replication-factor <n>', 'of the job-log topic it creates (DX_KAFKA_REPLICATION_FACTOR; default 3)')
    .option('--kafka-min-insync-replicas <n>', 'of the job-log topic it creates (DX_KAFKA_MIN_INSYNC_REPLICAS; default 2)')
    .option('--redis-username <name>', 'Redis ACL user (DX_REDIS_USERNAME)')
    .option('--redis-password-file <path>', 'Redis password (DX_REDIS_PASSWORD_FILE or DX_REDIS_PASSWORD)')
    .option('--redis-ca-file <path>', 'CA of a rediss:// Redis (DX_REDIS_CA_FILE)')
    .option('--log-level <level>', 'debug, info, warn, error (DX_LOG_LEVEL; default info)')
    .option(
      '--log-format <format>',
      'json (one object per line on stderr), pretty (readable lines), or auto: pretty on a terminal, json otherwise (DX_LOG_FORMAT; default auto); secrets and tokens in log fields are always redacted',
    )
    .option('--gossip-interval-ms <ms>', 'election timing (DX_GOSSIP_INTERVAL_MS; default 250)')
    .option('--lease-ms <ms>', 'election timing (DX_LEASE_MS; default 1000)')
    .addHelpText(
      'after',
      examples(
        'distributex start --listen /ip4/0.0.0.0/tcp/7400 --http 127.0.0.1:7401 --secret-file cluster.key',
        'distributex start --secret-file cluster.key --bootstrap /ip4/10.0.0.1/tcp/7400/p2p/12D3KooW...',
        'DX_JOB_LOG=kafka://kafka-1:9092/dx-jobs DX_CACHE=redis://redis:6379/dx distributex start --actors ./jobs.ts',
      ) + '\n\nexit codes: 0 left gracefully, 2 bad settings (the message names the setting), 130 a second Ctrl-C',
    )
    .action((options: StartOptions) => run(async () => (await import('./start.js')).runStart(options)))

  root
    .command('secret')
    .summary('write a new cluster secret')
    .description(
      'Write a new cluster secret (mode 0600); give the same file to every peer with --secret-file. Refuses to overwrite an existing file (exit 1): replacing the secret cuts a peer off from its cluster.',
    )
    .requiredOption('--out <path>', 'the file to write')
    .addHelpText('after', examples('distributex secret --out cluster.key'))
    .action((options: { out: string }) => run(async () => (await import('./secret.js')).runSecret(options.out)))

  root
    .command('token')
    .summary('write a new bearer token for the HTTP API')
    .description(
      'Write a new bearer token for the HTTP API (mode 0600); start peers with --http-token-file <path> and give the CLI the same file (--http-token-file or DX_HTTP_TOKEN_FILE). Refuses to overwrite an existing file (exit 1).',
    )
    .requiredOption('--out <path>', 'the file to write')
    .addHelpText('after', examples('distributex token --out http.token'))
    .action((options: { out: string }) => run(async () => (await import('./secret.js')).runToken(options.out)))

  withNode(root.command('status'))
    .summary('show the cluster as a peer sees it')
    .description('Show the cluster as one peer sees it: members, states, load, the leader and its epoch.')
    .option('--json', 'the status document as JSON')
    .addHelpText('after', `${examples('distributex status --http 127.0.0.1:7401', 'distributex status --json')}\n\nexit codes: 0 done, 3 the node is unreachable`)
    .action((options: StatusOptions) => run(async () => (await import('./status.js')).runStatus(options)))

  const members = withNode(root.command('members'))
    .summary('list the members with role, state and last seen; remove one')
    .description('List the members with role, state and last seen, or remove one that is down for good.')
    .addHelpText('after', examples('distributex members --http 127.0.0.1:7401', 'distributex members --json', 'distributex members remove <nodeId>'))
  members
    .command('list', { isDefault: true })
    .description('the members as a table, the leader first (the default)')
    .option('--json', 'the members as a JSON array')
    .action((_: unknown, command: Command) => run(async () => (await import('./members.js')).listMembers(command.optsWithGlobals<MembersOptions>())))
  members
    .command('remove')
    .description('remove a member that is down for good (its disk is gone, say), through the leader')
    .argument('<nodeId>', 'the member to remove')
    .option('--progress', 'the time waited for the leader on stderr even when it is not a terminal (on a terminal it always shows)')
    .action((id: string, _: unknown, command: Command) => run(async () => (await import('./members.js')).removeMember(id, command.optsWithGlobals<RemoveOptions>())))

  const entities = withNode(root.command('entities'))
    .summary('list entity activations per peer; ask an entity')
    .description('List the entity activations of every live peer, or ask one entity.')
    .addHelpText('after', examples('distributex entities --json', `distributex entities ask account alice '{"type":"balance"}' --timeout-ms 5000`))
  entities
    .command('list', { isDefault: true })
    .description('type, key, shard and epoch of each activation, per peer (the default)')
    .option('--json', 'the activations as JSON')
    .action((_: unknown, command: Command) => run(async () => (await import('./entities.js')).listEntities(command.optsWithGlobals<EntitiesOptions>())))
  entities
    .command('ask')
    .description('send one entity a message and print its reply')
    .argument('<type>', 'the entity type')
    .argument('<key>', "the entity's key")
    .argument('<message-json>', 'the message, as JSON')
    .option('--timeout-ms <ms>', 'how long to wait for the reply', wholeNumber(1))
    .action((type: string, key: string, message: string, _: unknown, command: Command) =>
      run(async () => (await import('./entities.js')).askEntity(type, key, message, command.optsWithGlobals<AskOptions>())),
    )

  withNode(root.command('submit'))
    .summary('submit a job, or many (--inputs), and wait for the outcome (--wait)')
    .description('Submit a job and print {"id": ...}; with --wait, wait for the outcome and print {"id", "ok", "value" | "error"}. With --inputs, submit one job per input.')
    .argument('<type>', 'the job type')
    .argument('[json-input]', "the job's input as JSON (default null)")
    .option('--wait', "wait for the job's outcome")
    .option('--timeout-ms <ms>', 'how long --wait waits', wholeNumber(1))
    .option('--options <json>', 'submit options, e.g. {"priority":5,"timeoutMs":10000,"retries":3,"idempotencyKey":"k"}')
    .option('--inputs <file>', "one job per input: a JSON array or JSON lines ('-': stdin); prints one JSON line per job in input order, exit 1 if any failed")
    .option(
      '--progress',
      "a progress bar on stderr even when it is not a terminal (on a terminal it always shows): with --inputs, jobs submitted and finished; with one job and --wait, the job's own progress",
    )
    .addHelpText(
      'after',
      `${examples(`distributex submit thumbnail '{"url":"https://example.com/a.png","width":640}' --wait`, 'distributex submit thumbnail --inputs inputs.jsonl --wait')}

exit codes: 0 submitted (or completed), 1 the job failed, 2 usage error or the node refused the job,
            3 the node or cluster is unavailable`,
    )
    .action((type: string, input: string | undefined, options: SubmitOptions) => run(async () => (await import('./jobs.js')).runSubmit(type, input, options)))

  const jobs = withNode(root.command('jobs'))
    .summary('list, inspect, wait for or cancel jobs')
    .description('List, inspect, wait for and cancel jobs.')
    .addHelpText(
      'after',
      examples(
        'distributex jobs list --status running',
        'distributex jobs list --json --limit 100',
        'distributex jobs inspect <id>',
        'distributex jobs result <id>',
        'distributex jobs cancel <id>',
      ),
    )
  jobs
    .command('list', { isDefault: true })
    .description('jobs as a table, newest first (the default)')
    .addOption(new Option('--status <status>', 'only jobs in this state').choices(JOB_STATUSES))
    .option('--limit <n>', 'at most this many', wholeNumber(1), 20)
    .option('--json', 'the jobs as a JSON array')
    .action((_: unknown, command: Command) => run(async () => (await import('./jobs.js')).listJobs(command.optsWithGlobals<ListOptions>())))
  jobs
    .command('inspect')
    .description("one job's record as JSON")
    .argument('<id>', 'the job id')
    .action((id: string, _: unknown, command: Command) => run(async () => (await import('./jobs.js')).inspectJob(id, command.optsWithGlobals<NodeOptions>())))
  jobs
    .command('result')
    .description("wait for one job's outcome and print it as JSON (exit 1 if the job failed)")
    .argument('<id>', 'the job id')
    .option('--progress', "the job's own progress on stderr even when it is not a terminal (on a terminal it always shows)")
    .action((id: string, _: unknown, command: Command) => run(async () => (await import('./jobs.js')).jobResult(id, command.optsWithGlobals<ResultOptions>())))
  jobs
    .command('cancel')
    .description('request cancellation (exit 1 if there is no such job)')
    .argument('<id>', 'the job id')
    .action((id: string, _: unknown, command: Command) => run(async () => (await import('./jobs.js')).cancelJob(id, command.optsWithGlobals<NodeOptions>())))

  withNode(root.command('top'))
    .summary('a live view of members, load, throughput, latency and alerts')
    .description(
      "A live view of the cluster through one peer, redrawn in place every second (Ctrl-C to quit): members with role, state and load, throughput, latency P50/P99 and queue depth with a sparkline of the last minute, the leader's load forecast per peer (peak and when it saturates), alerts (the leader's predicted ones with their time) and the recent leaders. Works over SSH; follows leader changes; reconnects.",
    )
    .option('--once', 'print one frame and exit (when stdout is not a terminal, top prints a frame a second instead of redrawing)')
    .addHelpText('after', examples('distributex top', 'distributex top --once --http 10.0.0.1:7401 --http-token-file http.token'))
    .action((options: TopOptions) => run(async () => (await import('./top.js')).runTop(options)))

  root
    .command('init')
    .summary('scaffold a job project')
    .description(
      'Scaffold a job project: package.json depending on this version of DistributeX, tsconfig.json, jobs.ts with an example job (start a peer with --actors ./jobs.ts), submit.ts submitting it through distributex/client, and a README with the commands. Writes nothing if any of these files exists (exit 1).',
    )
    .argument('[dir]', 'where to write the project', '.')
    .addHelpText('after', examples('distributex init my-jobs && cd my-jobs && npm install'))
    .action((dir: string) => run(async () => (await import('./init.js')).runInit(dir)))

  root
    .command('demo')
    .summary('a local 3-peer cluster running a workload (npm start)')
    .description('Start a local 3-peer cluster on the embedded defaults, run a workload, kill the leader halfway and print a summary (what `npm start` runs).')
    .option('--jobs <n>', 'how many jobs', wholeNumber(1), 3000)
    .option('--keep-leader', 'do not SIGKILL the leader halfway')
    .option('--dir <dir>', 'where the peers keep their data (emptied first)', join('.distributex', 'demo'))
    .addHelpText('after', examples('distributex demo --jobs 20000', 'npm start -- --keep-leader'))
    .action((options: DemoOptions) => run(async () => (await import('./demo.js')).runDemo(options)))

  const monitoring = root
    .command('monitoring')
    .summary('print the Prometheus rules, the Grafana dashboard or a Prometheus configuration')
    .description('Print the Prometheus rules, the Grafana dashboard or a Prometheus configuration for a cluster.')
    .addHelpText(
      'after',
      examples(
        'distributex monitoring rules > distributex.rules.yml',
        'distributex monitoring prometheus --targets 10.0.0.1:7401,10.0.0.2:7401,10.0.0.3:7401 > prometheus.yml',
        'distributex monitoring grafana > distributex-dashboard.json',
      ),
    )
  monitoring
    .command('rules')
    .description('the Prometheus recording and alert rules (YAML); save as distributex.rules.yml')
    .action(() => run(async () => (await import('./monitoring.js')).printRules()))
  monitoring
    .command('grafana')
    .description('the Grafana dashboard (JSON); import it in Grafana and pick the Prometheus data source')
    .action(() => run(async () => (await import('./monitoring.js')).printGrafana()))
  monitoring
    .command('prometheus')
    .description('a prometheus.yml scraping the given peers\' HTTP APIs under job "distributex" and loading the rules')
    .requiredOption('--targets <host:port,...>', 'the HTTP API of every peer')
    .option('--rules-file <path>', 'the rules file it loads', 'distributex.rules.yml')
    .option('--scrape-interval <duration>', 'scrape and evaluation interval', '15s')
    .action((options: PrometheusOptions) => run(async () => (await import('./monitoring.js')).printPrometheus(options)))

  const log = root
    .command('log')
    .summary('verify or repair a file job log or replica log')
    .description(
      "Check or repair a node's file job log or replica log offline. <dir> is a file: job log's directory, a replica log's directory, or a data directory holding replica/.",
    )
    .addHelpText(
      'after',
      `${examples('distributex log verify .distributex/7400', 'distributex log repair .distributex/7400')}\n\nexit codes: 0 clean (or repaired), 1 corrupt (or not repairable), 2 <dir> holds no log`,
    )
  log
    .command('verify')
    .description('read the log and report records, epochs, a torn tail and any corruption; never writes (exit 1 when corrupt)')
    .argument('<dir>', 'the log or data directory')
    .action((dir: string) => run(async () => (await import('./log.js')).runLog('verify', dir)))
  log
    .command('repair')
    .description('cut a corrupt log at its last good frame, keeping the cut bytes beside it (stop the node first)')
    .argument('<dir>', 'the log or data directory')
    .action((dir: string) => run(async () => (await import('./log.js')).runLog('repair', dir)))

  root
    .command('sim')
    .summary('deterministic simulation: run, check, swarm, compare, replay, shrink')
    .description(
      'Deterministic simulation: run, check, swarm, compare, replay, shrink; `distributex sim help` lists their options (exit codes: 0 pass, 1 invariant violated, 2 nondeterminism, 3 harness error).',
    )
    .argument('[args...]', 'passed to the simulator')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action((args: string[]) => run(async () => (await import('../../sim/cli.js')).simMain(args.some((arg) => arg === '--help' || arg === '-h') ? ['help'] : args)))

  return root
}

/** Runs one CLI invocation and returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const debug = argv.includes('--debug')
  let code: number = EXIT.ok
  const cli = program((result) => {
    code = result
  })
  // The command a usage error or a failure belongs to, for the message and its --help hint.
  let current: Command = cli
  for (const command of allCommands(cli)) {
    command.configureOutput({ outputError: () => {} })
    command.exitOverride((error) => {
      current = command
      throw error
    })
  }
  cli.hook('preAction', (_, action) => {
    current = action
  })
  try {
    await cli.parseAsync(argv.length === 0 ? ['help'] : [...argv], { from: 'user' })
    return code
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT.ok
      // A command that needs a subcommand was given none: its help is already on stderr.
      if (error.code === 'commander.help') return EXIT.usage
      const message = debug ? (error.stack ?? error.message) : sentence(error.message)
      process.stderr.write(`${pathOf(current)}: ${message} (${pathOf(current)} --help)\n`)
      return EXIT.usage
    }
    // The error classes are loaded only now: config.js alone would cost --version more than commander does.
    const { ConfigError } = await import('../node/config.js')
    const { NodeRequestError, NodeUnavailableError } = await import('./http-client.js')
    const exit = error instanceof NodeUnavailableError ? EXIT.unavailable : error instanceof ConfigError || error instanceof NodeRequestError ? EXIT.usage : EXIT.failed
    // A usage error found by the command itself (not a node's refusal) points at the command's help.
    const local = error instanceof ConfigError || (error instanceof NodeRequestError && !(error instanceof NodeUnavailableError) && error.status === undefined)
    const plain = error instanceof ConfigError || error instanceof NodeRequestError || (error instanceof Error && error.name === 'Error')
    const text = !(error instanceof Error) ? String(error) : debug ? (error.stack ?? error.message) : plain ? error.message : `${error.name}: ${error.message}`
    process.stderr.write(`${pathOf(current)}: ${text}${local ? ` (${pathOf(current)} --help)` : ''}\n`)
    return exit
  }
}

/** Commander's "error: unknown option '--x'\n(Did you mean --y?)" as one sentence-cased line. */
function sentence(message: string): string {
  const line = message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')
  return line.charAt(0).toUpperCase() + line.slice(1)
}
