/** Counts of the receptionist's dropped peer messages, read by the node's metrics at scrape time. */
export class ReceptionistStats {
  /** Peer messages that failed validation (bad shape, bounds, names or addresses). */
  malformed = 0
  /** Announcements of refs hosted on another node than the sender. */
  forged = 0
  /** Announcements older than what is held (late or reordered). */
  stale = 0
  /** Announcements past the per-node bounds. */
  bounds = 0
}
