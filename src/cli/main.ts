/** The `distributex` command line: parses the command and hands it to its module. */
import { ConfigError } from '../node/config.js'
import { NodeRequestError } from './http-client.js'

const USAGE = `usage: distributex <command> [options]

commands:
  start     run a peer: --listen <multiaddr> --bootstrap <multiaddr,...> --secret-file <path> --http <host:port>
            --data-dir <dir> --job-log file:<dir>|kafka://host:port/<topic> --cache memory|redis://host:port
            --actors <module> --voters 1|3|5|7 --voter-down-ms <ms> --config <file.json>
            (settings also from DX_* environment variables)
  secret    write a new cluster secret: --out <path>
  status    show the cluster as a peer sees it: --http <host:port> [--json]
  members   list members with role, state and last seen: [--http <host:port>] [--json]
            remove a member that is down for good: members remove <nodeId> [--http <host:port>]
  submit    submit a job: <type> <json input> [--wait] [--options <json>] [--http <host:port>]
  jobs      list | inspect <id> | result <id> | cancel <id>   [--status S] [--limit N] [--http <host:port>]
  demo      start a local 3-peer cluster on the embedded defaults and run a workload (npm start)
            [--jobs N] [--keep-leader: no SIGKILL of the leader halfway] [--dir <dir>]
  log       verify <dir> | repair <dir>: check a file job log or replica log directory (exit 1 when
            corrupt); repair cuts a corrupt log at its last good frame (stop the node first)
  sim       deterministic simulation: run, check, swarm, replay, shrink (distributex sim help)
  help      show this text
`

/** Runs one CLI invocation and returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case 'start':
        return await (await import('./start.js')).runStart(rest)
      case 'secret':
        return await (await import('./start.js')).runSecret(rest)
      case 'status':
        return await (await import('./status.js')).runStatus(rest)
      case 'members':
        return await (await import('./members.js')).runMembers(rest)
      case 'submit':
        return await (await import('./jobs.js')).runSubmit(rest)
      case 'jobs':
        return await (await import('./jobs.js')).runJobs(rest)
      case 'demo':
        return await (await import('./demo.js')).runDemo(rest)
      case 'log':
        return await (await import('./log.js')).runLog(rest)
      case 'sim':
        return await (await import('../../sim/cli.js')).simMain(rest)
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE)
        return 0
      default:
        process.stderr.write(`unknown command ${JSON.stringify(command)}\n${USAGE}`)
        return 2
    }
  } catch (error) {
    if (error instanceof ConfigError || error instanceof NodeRequestError || (error as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`distributex ${command}: ${(error as Error).message}\n`)
      return 2
    }
    throw error
  }
}
