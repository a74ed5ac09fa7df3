// Runs many command lines through the CLI's main() in this one process (a process per command line
// would cost a tsx start-up each) and prints their exit codes and output as one JSON array.
// Input: a JSON array of { argv, env? } as the first argument. Used by cli-parsing.test.ts.
import { main } from '../../src/cli/main.js'

interface Case {
  argv: string[]
  env?: Record<string, string>
}

const cases = JSON.parse(process.argv[2]!) as Case[]
const results: Array<{ code: number; stdout: string; stderr: string }> = []
const write = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) }
for (const { argv, env = {} } of cases) {
  let stdout = ''
  let stderr = ''
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]))
  Object.assign(process.env, env)
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write
  try {
    results.push({ code: await main(argv), stdout, stderr })
  } finally {
    process.stdout.write = write.out
    process.stderr.write = write.err
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  }
}
process.stdout.write(JSON.stringify(results))
