/** The simulator part of the scale bench (test/bench/scale.ts). */
export interface SimScaleResult {
  nodes: number
  convergence_s: number | null
}

export async function simScale(nodes: number): Promise<SimScaleResult> {
  return { nodes, convergence_s: null }
}
