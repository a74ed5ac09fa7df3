/** The `distributex` command line: parses the command and hands it to its module. */
import { runDemo } from './demo.js'

const USAGE = `usage: distributex <command> [options]

commands:
  demo        run a local actor workload on the embedded defaults (Ctrl-C stops it)
  sim         deterministic simulation: run, check, swarm, replay, shrink (distributex sim help)
  help        show this text
`

/** Runs one CLI invocation and returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case 'demo':
      return runDemo(rest)
    case 'sim': {
      const { simMain } = await import('../../sim/cli.js')
      return simMain(rest)
    }
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
}
