/**
 * `distributex init [dir]`: scaffolds a job project: package.json depending on this version of
 * DistributeX, tsconfig.json, jobs.ts with one example job (what peers load with `--actors`),
 * submit.ts submitting it from an application through `distributex/client`, and a README with the
 * commands. Refuses (exit 1) to overwrite any existing file, writing nothing, so running it twice
 * or in a populated directory never loses work.
 */
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { basename, join, resolve } from 'node:path'

interface OwnPackage {
  version: string
  devDependencies?: Record<string, string>
  dependencies?: Record<string, string>
}

/** This package's package.json, through the package's self-reference (as --version reads it). */
function ownPackage(): OwnPackage {
  return createRequire(import.meta.url)('distributex/package.json') as OwnPackage
}

const JOBS_TS = `// The job types this project's peers run: \`distributex start --actors ./jobs.ts\` registers every
// exported job definition. Every peer of a cluster must load the same definitions.
import { defineJob } from 'distributex'

/** Counts the words of a text; reports progress, and stops when cancelled. */
export const wordcount = defineJob(
  'wordcount',
  async (input: { text: string }, ctx) => {
    const words = input.text.split(/\\s+/).filter((word) => word !== '')
    const counts = new Map<string, number>()
    for (const [i, word] of words.entries()) {
      if (ctx.signal.aborted) throw ctx.signal.reason
      counts.set(word.toLowerCase(), (counts.get(word.toLowerCase()) ?? 0) + 1)
      if (i % 10_000 === 0) ctx.progress(i / words.length)
    }
    return { words: words.length, distinct: counts.size }
  },
  {
    concurrency: 4,
    // Runs at submission: a refused input never reaches the job log (the submitter gets InvalidJobError).
    validate: (input) => {
      const text = (input as { text?: unknown } | null)?.text
      if (typeof text !== 'string') throw new Error('input must be {"text": string}')
      return { text }
    },
  },
)
`

const SUBMIT_TS = `// Submits a job from an application that runs no peer, through the peers' HTTP API (npm run submit).
// \`import type\` gives the client the job's input and result types without loading its handler.
import { connect } from 'distributex/client'
import type { wordcount } from './jobs.js'

const client = connect<{ wordcount: typeof wordcount }>({
  peers: (process.env.DX_PEERS ?? 'http://127.0.0.1:7401').split(','),
  token: process.env.DX_TOKEN,
})
const text = process.argv.slice(2).join(' ') || 'to be or not to be'
const job = await client.submit('wordcount', { text })
console.log(\`submitted \${job.id}\`)
for await (const event of job.events({ timeoutMs: 60_000 })) {
  if (event.type === 'progress') console.log(\`\${Math.round(event.fraction * 100)}%\`)
  else if (event.ok) console.log(\`\${event.value.words} words, \${event.value.distinct} distinct\`)
  else throw event.error
}
`

function readme(name: string): string {
  return `# ${name}

A DistributeX job project: \`jobs.ts\` defines the job types, \`submit.ts\` submits one from an application.

\`\`\`sh
npm install
npx distributex start --actors ./jobs.ts        # a peer; its HTTP API on 127.0.0.1:7401 (Ctrl-C stops it)
npx distributex submit wordcount '{"text":"to be or not to be"}' --wait
npx distributex jobs list
npm run submit -- some words to count           # the same from code, with progress (submit.ts)
\`\`\`

More peers: start them with \`--bootstrap <address the first one printed>\` and the same
\`--secret-file\`; the client takes several peer URLs (\`DX_PEERS=http://a:7401,http://b:7401\`) and
fails over between them. \`npx distributex <command> --help\` describes each command.
`
}

function packageJson(name: string, own: OwnPackage): string {
  const dev = (pkg: string, fallback: string): string => `^${(own.devDependencies?.[pkg] ?? own.dependencies?.[pkg] ?? fallback).replace(/^[\^~]/, '')}`
  return `${JSON.stringify(
    {
      name,
      version: '0.1.0',
      private: true,
      type: 'module',
      scripts: { peer: 'distributex start --actors ./jobs.ts', submit: 'node --import tsx submit.ts', typecheck: 'tsc --noEmit' },
      dependencies: { distributex: `^${own.version}` },
      devDependencies: { '@types/node': dev('@types/node', '20.19.0'), tsx: dev('tsx', '4.19.0'), typescript: dev('typescript', '5.9.0') },
    },
    null,
    2,
  )}\n`
}

const TSCONFIG = `${JSON.stringify(
  {
    compilerOptions: { target: 'ES2022', lib: ['ES2023'], module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, noEmit: true, types: ['node'] },
    include: ['*.ts'],
  },
  null,
  2,
)}\n`

/** A package name from a directory name: lower case, npm's allowed characters. */
function packageName(dir: string): string {
  const name = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+/, '')
  return name === '' ? 'distributex-jobs' : name.slice(0, 214)
}

/** The files of a new project in `dir`, by name. */
export function scaffold(dir: string): Record<string, string> {
  const name = packageName(dir)
  return {
    'package.json': packageJson(name, ownPackage()),
    'tsconfig.json': TSCONFIG,
    'jobs.ts': JOBS_TS,
    'submit.ts': SUBMIT_TS,
    'README.md': readme(name),
    '.gitignore': 'node_modules\n.distributex\n',
  }
}

/** `distributex init [dir]`: writes the project, or nothing if any of its files exists (exit 1). */
export async function runInit(dir = '.'): Promise<number> {
  const files = scaffold(dir)
  const existing = Object.keys(files).filter((file) => existsSync(join(dir, file)))
  if (existing.length > 0) {
    process.stderr.write(
      `distributex init: ${existing.map((f) => join(dir, f)).join(', ')} already exist${existing.length === 1 ? 's' : ''}; nothing was written (choose an empty directory)\n`,
    )
    return 1
  }
  await mkdir(dir, { recursive: true })
  for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text, { flag: 'wx' })
  const cd = dir === '.' ? '' : `cd ${/[^\w./-]/.test(dir) ? JSON.stringify(dir) : dir} && `
  process.stdout.write(`created a job project in ${dir}: ${Object.keys(files).join(', ')}\nnext: ${cd}npm install && npx distributex start --actors ./jobs.ts\n`)
  return 0
}
