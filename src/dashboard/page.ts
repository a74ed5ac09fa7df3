/**
 * The dashboard's HTML and styles: a static shell that holds no data. Its script
 * (./assets/app.js) fills it from the peer's event stream; uPlot draws the charts. Works without
 * any network access beyond the peer itself.
 */

const STYLE = `
:root { --bg: #f6f7f9; --card: #fff; --ink: #1d2330; --muted: #677086; --line: #e3e6ec; --ok: #1f9d55; --warn: #c97a00; --bad: #d0342c; --accent: #3a63d6; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--ink); }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 16px; padding: 14px 24px; background: #1d2330; color: #fff; }
header h1 { margin: 0; font-size: 18px; font-weight: 600; }
header .meta { color: #b8c0d4; font-size: 13px; }
header .meta b { color: #fff; font-weight: 600; }
#conn { margin-left: auto; font-size: 13px; }
#conn::before { content: ""; display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin-right: 6px; background: var(--warn); }
#conn[data-state="live"]::before { background: var(--ok); }
#conn[data-state="error"]::before { background: var(--bad); }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 16px; padding: 16px 24px 32px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; min-width: 0; }
section.wide { grid-column: 1 / -1; }
h2 { margin: 0 0 10px; font-size: 14px; font-weight: 600; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.num, th.num { text-align: right; }
tr.clickable { cursor: pointer; }
tr.clickable:hover, tr.selected { background: #eef2fc; }
.badge { display: inline-block; padding: 1px 7px; border-radius: 10px; font-size: 12px; background: #eceff5; color: var(--ink); }
.badge.leader { background: var(--accent); color: #fff; }
.state-up, .status-completed { color: var(--ok); }
.state-suspect, .state-joining, .state-leaving, .status-retrying, .status-queued, .status-waiting { color: var(--warn); }
.state-down, .status-failed, .status-cancelled { color: var(--bad); }
.status-running { color: var(--accent); }
.empty { color: var(--muted); font-style: italic; padding: 10px 0; }
.chart { position: relative; min-height: 220px; }
.chart .empty { position: absolute; inset: 40% 0 auto 0; text-align: center; }
#alerts ul, #epochs ol { margin: 0; padding: 0; list-style: none; }
#alerts li { padding: 6px 10px; border-left: 4px solid var(--warn); background: #fff8eb; margin-bottom: 6px; border-radius: 4px; }
#alerts li.critical { border-color: var(--bad); background: #fdeeee; }
#alerts li b { margin-right: 6px; }
#alerts li .badge { margin-right: 4px; }
#alerts li.predicted { border-left-style: dashed; }
.forecast-tables { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 16px; margin-top: 10px; }
.forecast-tables h3 { margin: 0 0 6px; font-size: 13px; font-weight: 600; color: var(--muted); }
tr.bottleneck td:first-child { font-weight: 600; }
#epochs li { padding: 4px 0; border-bottom: 1px solid var(--line); font-variant-numeric: tabular-nums; }
#epochs li .when { color: var(--muted); margin-left: 8px; font-size: 12px; }
#detail { margin-top: 12px; padding: 10px 12px; background: #f8f9fb; border: 1px solid var(--line); border-radius: 6px; }
#detail dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 0; }
#detail dt { color: var(--muted); }
#detail dd { margin: 0; word-break: break-all; }
#detail pre { margin: 0; white-space: pre-wrap; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.note { color: var(--muted); font-size: 12px; margin-top: 6px; }
`

export function dashboardPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>DistributeX dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/uplot.css">
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>DistributeX</h1>
  <span class="meta">cluster <b id="cluster-id">-</b></span>
  <span class="meta">leader <b id="leader">none</b> · epoch <b id="epoch">-</b></span>
  <span class="meta">served by <b id="this-node">-</b></span>
  <span id="conn" data-state="connecting">connecting…</span>
</header>
<main>
  <section id="alerts" class="wide"><h2>Active alerts</h2><div class="body"><p class="empty">No active alerts.</p></div></section>
  <section id="members" class="wide"><h2>Members</h2>
    <table><thead><tr><th>Node</th><th>Role</th><th>State</th><th class="num">Running / capacity</th><th class="num">Queued</th><th class="num">CPU</th><th class="num">Event-loop lag</th><th class="num">Memory</th></tr></thead>
    <tbody></tbody></table><p class="empty" id="members-empty">Waiting for the peer's first summary…</p></section>
  <section id="forecast" class="wide"><h2>Load per peer and the leader's forecast</h2><div class="chart" id="chart-load"><p class="empty">Waiting for data…</p></div>
    <p class="note" id="forecast-legend" hidden></p>
    <p class="empty" id="forecast-empty">No forecast yet: the leader forecasts each peer's load once it has sampled it for a few seconds.</p>
    <div class="forecast-tables">
      <div id="bottlenecks" hidden><h3>Predicted bottlenecks</h3>
        <table><thead><tr><th>Node</th><th class="num">Load now (jobs/slot)</th><th class="num">Peak forecast</th><th>Saturates</th></tr></thead><tbody></tbody></table></div>
      <div id="durations" hidden><h3>Predicted duration by job type</h3>
        <table><thead><tr><th>Type</th><th class="num">P50</th><th class="num">P90</th><th class="num">Runs seen</th></tr></thead><tbody></tbody></table></div>
    </div></section>
  <section><h2>Throughput</h2><div class="chart" id="chart-throughput"><p class="empty">No jobs finished yet.</p></div><p class="note" id="throughput-note"></p></section>
  <section><h2>Latency, submit to finish</h2><div class="chart" id="chart-latency"><p class="empty">No jobs finished yet.</p></div></section>
  <section><h2>Queue depth</h2><div class="chart" id="chart-queue"><p class="empty">Waiting for data…</p></div></section>
  <section id="jobs"><h2>Recent jobs</h2>
    <table><thead><tr><th>Job</th><th>Type</th><th>Status</th><th class="num">Attempts</th><th>Node</th><th class="num">Latency</th></tr></thead><tbody></tbody></table>
    <p class="empty" id="jobs-empty">No jobs yet.</p>
    <div id="detail" hidden></div></section>
  <section id="epochs"><h2>Leader history</h2><ol></ol><p class="empty" id="epochs-empty">No leader seen yet.</p></section>
</main>
<script src="/dashboard/uplot.js"></script>
<script type="module" src="/dashboard/app.js"></script>
</body>
</html>
`
}
