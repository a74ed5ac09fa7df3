/** Plain-text tables of the CLI's listings: columns as wide as their widest cell, two spaces apart. */

/** The header line and one line per row, each without trailing spaces. */
export function tableLines(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)]
}
