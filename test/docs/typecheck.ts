// Type-checks snippets as a project that depends on DistributeX would: `distributex`,
// `distributex/sim` and `distributex/client` resolve (through tsconfig `paths`) to this
// repository's sources, with the repository's own compiler options and TypeScript.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import ts from 'typescript'
import { sourceDir } from '../helpers/paths.js'

export const ROOT = join(sourceDir(import.meta.dirname), '..', '..')

/** One code block of a markdown file; `line` is the 1-based line of its first code line. */
export interface CodeBlock {
  readonly lang: string
  readonly line: number
  readonly code: string
}

/** The fenced code blocks of `markdown`, with the line each starts at. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n')
  const blocks: CodeBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]!)
    if (open === null) continue
    const start = i + 1
    let end = start
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++
    blocks.push({ lang: open[1]!, line: start + 1, code: lines.slice(start, end).join('\n') })
    i = end
  }
  return blocks
}

/** A snippet to check: its file name in the temporary project, its text, and how to name its lines in errors. */
export interface Snippet {
  readonly file: string
  readonly code: string
  /** Renders a 1-based line of `code` as the place to fix, e.g. `README.md:120`. */
  readonly where: (line: number) => string
}

/**
 * Type-checks the snippets together (one may import another as `./<file>.js`) and returns one
 * line per error, at the snippet's own place. Each snippet is a module of an ES module project.
 */
export function typeCheck(snippets: readonly Snippet[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'dx-docs-'))
  try {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }))
    const byPath = new Map<string, Snippet>()
    for (const s of snippets) {
      const path = join(dir, s.file)
      // `export {}` keeps a snippet without imports a module, so snippets never share names.
      writeFileSync(path, `${s.code}\nexport {}\n`)
      byPath.set(path, s)
    }
    const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (p) => ts.sys.readFile(p))
    const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT)
    const program = ts.createProgram([...byPath.keys()], {
      ...options,
      noEmit: true,
      typeRoots: [join(ROOT, 'node_modules', '@types')],
      paths: {
        distributex: [join(ROOT, 'src', 'index.ts')],
        'distributex/sim': [join(ROOT, 'sim', 'index.ts')],
        'distributex/client': [join(ROOT, 'src', 'client', 'index.ts')],
      },
    })
    return ts.getPreEmitDiagnostics(program).map((d) => {
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n')
      if (d.file === undefined) return `${text}`
      const snippet = byPath.get(d.file.fileName) ?? byPath.get(join(dir, relative(dir, d.file.fileName)))
      const line = d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1
      return `${snippet === undefined ? `${relative(ROOT, d.file.fileName)}:${line}` : snippet.where(line)}: ${text}`
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
