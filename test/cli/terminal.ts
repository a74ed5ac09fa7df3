// Runs a command in a real pseudo-terminal (util-linux script(1)), as a person at a terminal would,
// and returns what the terminal received: stdout and stderr together, with the terminal's \r\n.
import { execFile } from 'node:child_process'

/** A POSIX shell word for `arg`. */
export function quote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`
}

export function inTerminal(argv: readonly string[], timeoutMs = 120_000): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    // -q: no banner; -e: the command's exit code; -c: the command; /dev/null: no typescript file.
    execFile('script', ['-qec', argv.map(quote).join(' '), '/dev/null'], { timeout: timeoutMs, env: { ...process.env, COLUMNS: '120', LINES: '40' } }, (error, stdout) => {
      if (error !== null && typeof error.code !== 'number') reject(error)
      else resolve({ code: error === null ? 0 : (error.code as number), output: stdout })
    })
  })
}
