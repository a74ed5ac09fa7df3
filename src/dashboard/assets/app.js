// The DistributeX dashboard in the browser: reads the peer's summary stream (GET /dashboard/events,
// server-sent events read through fetch so that the bearer token travels in a header) and renders
// members, charts (uPlot), the leader's load forecast (dashed, continuing each peer's load, with its
// band shaded), predicted bottlenecks, recent jobs, alerts and the leader history. Reconnects on its own; the
// peer keeps serving when it loses the lead, so the page follows leader changes without a reload.
// Plain browser JavaScript, no build step: served as is, as a module script (the package build
// emits it with a trailing `export {}`, which only a module script accepts).
;(function () {
  'use strict'

  var MAX_POINTS = 300
  var COLORS = ['#3a63d6', '#1f9d55', '#c97a00', '#8e44ad', '#d0342c', '#16a2b8', '#6c757d', '#e83e8c']

  // The token comes in the URL fragment (#token=...), which browsers never send; keep it for the tab.
  var match = /(?:^#|&)token=([^&]+)/.exec(location.hash)
  if (match) {
    sessionStorage.setItem('dx-token', decodeURIComponent(match[1]))
    history.replaceState(null, '', location.pathname + location.search)
  }
  var token = sessionStorage.getItem('dx-token')
  function headers() {
    return token ? { authorization: 'Bearer ' + token } : {}
  }

  var $ = function (id) {
    return document.getElementById(id)
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag)
    if (attrs) for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) node.setAttribute(k, attrs[k])
    ;(children || []).forEach(function (c) {
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c)
    })
    return node
  }
  function short(id) {
    return id && id.length > 16 ? id.slice(0, 6) + '…' + id.slice(-6) : id || '-'
  }
  function fmtMs(ms) {
    if (ms === null || ms === undefined) return '-'
    if (ms < 1) return ms.toFixed(2) + ' ms'
    if (ms < 1000) return Math.round(ms) + ' ms'
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s'
    return (ms / 60000).toFixed(1) + ' min'
  }
  function fmtTime(t) {
    return new Date(t).toLocaleTimeString()
  }

  // ---- state -----------------------------------------------------------------------------------
  var history_ = [] // summaries, oldest first
  var epochs = []
  var selectedJob = null
  // The latest forecast and the time of its summary: a summary without one (the leader did not
  // answer that second) keeps it on screen for FORECAST_KEEP_MS rather than flickering.
  var lastForecast = null
  var FORECAST_KEEP_MS = 5000

  // ---- charts ----------------------------------------------------------------------------------
  var charts = {}
  // Per chart, a value the y axis reaches at least (the load chart's forecast band), and the load
  // chart's overlay, which its draw hook reads when uPlot draws.
  var yFloor = {}
  var loadOverlay = function () {}

  function chartWidth(box) {
    return Math.max(280, box.clientWidth)
  }

  /** Creates (or recreates, when the series change) a chart; `series` is [{label, color, dash}], `hooks` uPlot hooks. */
  function ensureChart(name, unit, series, valueFmt, hooks) {
    var key = series
      .map(function (s) {
        return s.label
      })
      .join('|')
    var existing = charts[name]
    if (existing && existing.key === key) return existing.plot
    if (existing) existing.plot.destroy()
    var box = $('chart-' + name)
    var opts = {
      width: chartWidth(box),
      height: 220,
      cursor: { drag: { x: false, y: false } },
      hooks: hooks || {},
      legend: { live: true },
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(max || 0, yFloor[name] || 0, 1) * 1.1] } } },
      axes: [
        { stroke: '#677086', grid: { stroke: '#eef0f4' } },
        { label: unit, stroke: '#677086', grid: { stroke: '#eef0f4' }, size: 60, values: function (u, vals) { return vals.map(function (v) { return valueFmt(v) }) } },
      ],
      series: [{ label: 'time', value: function (u, v) { return v === null ? '-' : fmtTime(v * 1000) } }].concat(
        series.map(function (s, i) {
          return { label: s.label, stroke: s.color || COLORS[i % COLORS.length], width: 2, dash: s.dash, spanGaps: Boolean(s.spanGaps), points: s.dash ? { show: false } : {}, value: function (u, v) { return v === null || v === undefined ? '-' : valueFmt(v) + ' ' + unit } }
        }),
      ),
    }
    var data = [[]].concat(series.map(function () { return [] }))
    box.dataset.unit = unit
    var plot = new uPlot(opts, data, box)
    charts[name] = { key: key, plot: plot }
    return plot
  }

  function setChart(name, unit, series, columns, valueFmt, xs, hooks) {
    var plot = ensureChart(name, unit, series, valueFmt, hooks)
    plot.setData([xs || history_.map(function (s) { return s.t / 1000 })].concat(columns))
    var hasData = columns.some(function (col) { return col.some(function (v) { return v !== null && v !== undefined }) })
    var empty = $('chart-' + name).querySelector('.empty')
    if (empty) empty.hidden = hasData
    $('chart-' + name).dataset.points = String(columns.reduce(function (n, col) { return n + col.filter(function (v) { return v !== null && v !== undefined }).length }, 0))
  }

  window.addEventListener('resize', function () {
    for (var name in charts) {
      var box = $('chart-' + name)
      charts[name].plot.setSize({ width: chartWidth(box), height: 220 })
    }
  })

  function num(v) {
    return Math.abs(v) >= 100 ? String(Math.round(v)) : String(Math.round(v * 100) / 100)
  }

  /** The forecast to show with the newest summary `s`: its own, or a recent one; null when none. */
  function currentForecast(s) {
    if (s.forecast) lastForecast = { t: s.t, forecast: s.forecast }
    if (!lastForecast || s.t - lastForecast.t > FORECAST_KEEP_MS) return null
    return lastForecast.forecast
  }

  /** A member's load in jobs per slot, (running + queued) / capacity, while it is up. */
  function loadOf(m) {
    if (!m || m.state !== 'up' || m.running === null || m.capacity === null || !(m.capacity > 0)) return null
    return (m.running + (m.queued || 0)) / m.capacity
  }

  function withAlpha(hex, alpha) {
    var n = parseInt(hex.slice(1), 16)
    return 'rgba(' + (n >> 16) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + alpha + ')'
  }

  /**
   * Load per peer: the history as solid lines and the leader's forecast continuing each one, dashed,
   * from the newest sample to the horizon, with its ~90% band shaded, the saturation load as a red
   * dashed line and "now" as a grey one (drawn in uPlot's draw hook, under the legend's control).
   */
  function renderLoad(forecast) {
    var ids = []
    history_.forEach(function (s) {
      s.members.forEach(function (m) {
        if (ids.indexOf(m.nodeId) < 0) ids.push(m.nodeId)
      })
    })
    ids.sort()
    var last = history_[history_.length - 1]
    var nowX = last ? last.t / 1000 : null
    var byPeer = {}
    if (forecast && last) forecast.peers.forEach(function (p) {
      if (ids.indexOf(p.nodeId) >= 0 && p.points.length > 0) byPeer[p.nodeId] = p
    })
    var future = []
    ids.forEach(function (id) {
      if (byPeer[id]) byPeer[id].points.forEach(function (q) {
        var x = nowX + q.inS
        if (future.indexOf(x) < 0) future.push(x)
      })
    })
    future.sort(function (a, b) { return a - b })
    var xs = history_.map(function (s) { return s.t / 1000 }).concat(future)
    var series = []
    var columns = []
    var bands = []
    ids.forEach(function (id, i) {
      var color = COLORS[i % COLORS.length]
      var hist = history_.map(function (s) {
        return loadOf(s.members.find(function (x) { return x.nodeId === id }))
      })
      series.push({ label: short(id), color: color })
      columns.push(hist.concat(future.map(function () { return null })))
      var p = byPeer[id]
      if (!p) return
      // The dashed line starts where the solid one ends (the peer's newest load), then the path.
      var at = {}
      p.points.forEach(function (q) { at[nowX + q.inS] = q })
      var startValue = hist[hist.length - 1] !== null ? hist[hist.length - 1] : p.load
      series.push({ label: short(id) + ' forecast', color: color, dash: [6, 5], spanGaps: true })
      columns.push(history_.map(function (s, k) { return k === history_.length - 1 ? startValue : null }).concat(future.map(function (x) { return at[x] ? at[x].load : null })))
      bands.push({ color: color, start: { x: nowX, v: startValue }, points: p.points.map(function (q) { return { x: nowX + q.inS, low: q.low, high: q.high } }) })
    })
    var saturation = forecast ? forecast.saturation : null
    var draw = function (u) {
      var ctx = u.ctx
      var X = function (x) { return u.valToPos(x, 'x', true) }
      var Y = function (v) { return u.valToPos(v, 'y', true) }
      ctx.save()
      ctx.beginPath()
      ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height)
      ctx.clip()
      bands.forEach(function (b) {
        ctx.beginPath()
        ctx.moveTo(X(b.start.x), Y(b.start.v))
        b.points.forEach(function (q) { ctx.lineTo(X(q.x), Y(q.high)) })
        for (var k = b.points.length - 1; k >= 0; k--) ctx.lineTo(X(b.points[k].x), Y(b.points[k].low))
        ctx.closePath()
        ctx.fillStyle = withAlpha(b.color, 0.13)
        ctx.fill()
      })
      ctx.setLineDash([4, 4])
      ctx.lineWidth = 1
      if (nowX !== null && bands.length > 0) {
        ctx.strokeStyle = '#9aa3b5'
        ctx.beginPath()
        ctx.moveTo(X(nowX), u.bbox.top)
        ctx.lineTo(X(nowX), u.bbox.top + u.bbox.height)
        ctx.stroke()
      }
      if (saturation !== null && saturation <= u.scales.y.max) {
        ctx.strokeStyle = '#d0342c'
        ctx.beginPath()
        ctx.moveTo(u.bbox.left, Y(saturation))
        ctx.lineTo(u.bbox.left + u.bbox.width, Y(saturation))
        ctx.stroke()
      }
      ctx.restore()
    }
    // The band may reach above every line: show it, up to a little past the saturation line.
    var bandTop = 0
    bands.forEach(function (b) { b.points.forEach(function (q) { bandTop = Math.max(bandTop, q.high) }) })
    yFloor.load = saturation === null ? 0 : Math.min(bandTop, saturation * 1.25)
    loadOverlay = draw
    setChart('load', 'jobs/slot', series, columns, num, xs, { draw: [function (u) { loadOverlay(u) }] })
    var box = $('chart-load')
    var peers = Object.keys(byPeer).length
    box.dataset.forecastPeers = String(peers)
    box.dataset.forecastPoints = String(bands.reduce(function (n, b) { return n + b.points.length }, 0))
    $('forecast-empty').hidden = peers > 0
    $('forecast-legend').hidden = peers === 0
    if (forecast) $('forecast-legend').textContent = 'Solid: load gossiped by each peer. Dashed: the leader\'s forecast for the next ' + forecast.horizonS + ' s, shaded: its 90% band. Red dashed line: saturation (' + num(forecast.saturation) + ' jobs per slot).' + maseText(forecast.mase)
  }

  function maseText(mase) {
    if (!mase || mase['10s'] === null) return ''
    return ' Forecast error so far (MASE, below 1 beats "no change"): ' + num(mase['10s']) + ' at 10 s' + (mase['60s'] === null ? '' : ', ' + num(mase['60s']) + ' at 60 s') + '.'
  }

  /** Per peer: load now, peak over the horizon and when it saturates; and the learnt durations by type. */
  function renderForecastTables(forecast) {
    var body = $('bottlenecks').querySelector('tbody')
    body.textContent = ''
    var peers = forecast ? forecast.peers : []
    peers.forEach(function (p) {
      // 0 with the load still below saturation: an alert's predicted time has come, the load has not (yet).
      var when = p.saturatesInS === null ? 'not within ' + forecast.horizonS + ' s' : p.saturatesInS > 0 ? 'in ' + Math.round(p.saturatesInS) + ' s' : p.load >= forecast.saturation ? 'now' : 'due now'
      body.appendChild(
        el('tr', { 'data-node': p.nodeId, class: p.saturatesInS === null ? null : 'bottleneck' }, [
          el('td', { class: 'mono', title: p.nodeId }, [short(p.nodeId)]),
          el('td', { class: 'num' }, [num(p.load)]),
          el('td', { class: 'num' }, [num(p.peak)]),
          el('td', { class: p.saturatesInS === null ? 'state-up' : 'state-down' }, [when]),
        ]),
      )
    })
    $('bottlenecks').hidden = peers.length === 0
    var types = $('durations').querySelector('tbody')
    types.textContent = ''
    var durations = forecast ? forecast.durations : []
    durations.forEach(function (d) {
      types.appendChild(el('tr', { 'data-type': d.type }, [el('td', null, [d.type]), el('td', { class: 'num' }, [fmtMs(d.p50Ms)]), el('td', { class: 'num' }, [fmtMs(d.p90Ms)]), el('td', { class: 'num' }, [String(d.count)])]))
    })
    $('durations').hidden = durations.length === 0
  }

  function renderCharts() {
    var forecast = currentForecast(history_[history_.length - 1])
    renderLoad(forecast)
    renderForecastTables(forecast)
    setChart(
      'throughput',
      'jobs/s',
      [{ label: 'completed', color: '#1f9d55' }, { label: 'failed', color: '#d0342c' }],
      [
        history_.map(function (s) { return s.throughput ? s.throughput.completed : null }),
        history_.map(function (s) { return s.throughput ? s.throughput.failed : null }),
      ],
      num,
    )
    var capped = history_.some(function (s) { return s.throughput && s.throughput.capped })
    $('throughput-note').textContent = capped ? 'Some seconds finished more jobs than the dashboard counts per second; those points are lower bounds.' : ''
    setChart(
      'latency',
      'ms',
      [{ label: 'P50', color: '#3a63d6' }, { label: 'P99', color: '#c97a00' }],
      [
        history_.map(function (s) { return s.latency ? s.latency.p50Ms : null }),
        history_.map(function (s) { return s.latency ? s.latency.p99Ms : null }),
      ],
      num,
    )
    setChart(
      'queue',
      'jobs',
      [{ label: 'queued on peers', color: '#c97a00' }, { label: 'running', color: '#3a63d6' }],
      [
        history_.map(function (s) { return s.queue.queued }),
        history_.map(function (s) { return s.queue.running }),
      ],
      num,
    )
  }

  // ---- tables ----------------------------------------------------------------------------------
  function renderHeader(s) {
    $('cluster-id').textContent = s.clusterId ? short(s.clusterId) : 'forming'
    $('leader').textContent = s.leader ? short(s.leader.nodeId) : 'none'
    $('leader').title = s.leader ? s.leader.nodeId : ''
    $('epoch').textContent = s.leader ? String(s.leader.epoch) : '-'
    $('this-node').textContent = short(s.nodeId) + (s.leading ? ' (leader)' : '')
    $('this-node').title = s.nodeId
  }

  function renderMembers(s) {
    var body = $('members').querySelector('tbody')
    body.textContent = ''
    var members = s.members.slice().sort(function (a, b) {
      return (b.leader ? 1 : 0) - (a.leader ? 1 : 0) || a.nodeId.localeCompare(b.nodeId)
    })
    members.forEach(function (m) {
      // A member that is not up keeps its last gossiped load: show none rather than stale figures.
      var live = m.state === 'up'
      var name = el('td', { class: 'mono', title: m.nodeId }, [short(m.nodeId) + (m.nodeId === s.nodeId ? ' (this)' : '')])
      var role = el('td', null, m.leader ? [el('span', { class: 'badge leader' }, ['leader'])] : [el('span', { class: 'badge' }, [m.role])])
      body.appendChild(
        el('tr', { 'data-node': m.nodeId, 'data-leader': m.leader ? 'true' : 'false' }, [
          name,
          role,
          el('td', { class: 'state-' + m.state }, [m.state]),
          el('td', { class: 'num' }, [!live || m.running === null ? '-' : m.running + ' / ' + m.capacity]),
          el('td', { class: 'num' }, [!live || m.queued === null ? '-' : String(m.queued)]),
          el('td', { class: 'num' }, [!live || m.cpu === null ? '-' : Math.round(m.cpu * 100) + ' %']),
          el('td', { class: 'num' }, [!live || m.lagMs === null ? '-' : fmtMs(m.lagMs)]),
          el('td', { class: 'num' }, [!live || m.memoryMb === null ? '-' : Math.round(m.memoryMb) + ' MB']),
        ]),
      )
    })
    $('members-empty').hidden = members.length > 0
    if (members.length === 0) $('members-empty').textContent = 'This peer knows no members yet.'
  }

  function renderAlerts(s) {
    var box = $('alerts').querySelector('.body')
    box.textContent = ''
    if (s.alerts.length === 0) {
      box.appendChild(el('p', { class: 'empty' }, ['No active alerts.']))
      return
    }
    box.appendChild(
      el(
        'ul',
        null,
        s.alerts.map(function (a) {
          var predicted = a.predictedInS !== undefined
          var when = !predicted ? null : a.predictedInS === null ? 'now' : a.predictedInS === 0 ? 'due now' : 'in ' + a.predictedInS + ' s'
          return el('li', { class: a.severity + (predicted ? ' predicted' : ''), 'data-alert': a.name, 'data-predicted': predicted ? 'true' : null }, [el('b', null, [a.name]), predicted ? el('span', { class: 'badge' }, ['predicted ' + when]) : '', ' ' + a.message])
        }),
      ),
    )
  }

  function renderJobs(s) {
    if (s.recent === null) return // the leader did not answer this second: keep the last list
    var body = $('jobs').querySelector('tbody')
    body.textContent = ''
    s.recent.forEach(function (j) {
      var row = el('tr', { class: 'clickable' + (j.id === selectedJob ? ' selected' : ''), 'data-job': j.id }, [
        el('td', { class: 'mono', title: j.id }, [short(j.id)]),
        el('td', null, [j.type]),
        el('td', { class: 'status-' + j.status }, [j.status]),
        el('td', { class: 'num' }, [String(j.attempts)]),
        el('td', { class: 'mono', title: j.assignedTo || '' }, [short(j.assignedTo)]),
        el('td', { class: 'num' }, [j.finishedAt === null ? '-' : fmtMs(j.finishedAt - j.submittedAt)]),
      ])
      row.addEventListener('click', function () {
        showJob(j.id)
      })
      body.appendChild(row)
    })
    $('jobs-empty').hidden = s.recent.length > 0
  }

  function renderEpochs() {
    var list = $('epochs').querySelector('ol')
    list.textContent = ''
    epochs
      .slice()
      .reverse()
      .forEach(function (e) {
        list.appendChild(el('li', { 'data-epoch': String(e.epoch) }, ['epoch ' + e.epoch + ' · ', el('span', { class: 'mono', title: e.nodeId }, [short(e.nodeId)]), el('span', { class: 'when' }, ['since ' + fmtTime(e.at)])]))
      })
    $('epochs-empty').hidden = epochs.length > 0
  }

  function showJob(id) {
    selectedJob = id
    var box = $('detail')
    box.hidden = false
    box.textContent = 'Loading ' + id + '…'
    fetch('/jobs/' + encodeURIComponent(id), { headers: headers() })
      .then(function (res) {
        return res.json().then(function (body) {
          if (!res.ok) throw new Error(body && body.error ? body.error.message : 'HTTP ' + res.status)
          return body
        })
      })
      .then(function (job) {
        var rows = [
          ['Job', job.id],
          ['Type', job.type],
          ['Status', job.status],
          ['Attempts', String(job.attempts)],
          ['Node', job.assignedTo || '-'],
          ['Submitted', new Date(job.submittedAt).toLocaleString()],
          ['Finished', job.finishedAt ? new Date(job.finishedAt).toLocaleString() : '-'],
          ['Latency', job.finishedAt ? fmtMs(job.finishedAt - job.submittedAt) : '-'],
        ]
        if (job.progress) rows.push(['Progress', Math.round(job.progress.fraction * 100) + ' %' + (job.progress.message ? ' ' + job.progress.message : '')])
        if (job.outcome && job.outcome.ok) rows.push(['Result', JSON.stringify(job.outcome.value)])
        if (job.outcome && !job.outcome.ok) rows.push(['Error', job.outcome.error.name + ' (' + job.outcome.error.code + '): ' + job.outcome.error.message])
        box.textContent = ''
        box.appendChild(
          el(
            'dl',
            null,
            rows.reduce(function (acc, r) {
              return acc.concat([el('dt', null, [r[0]]), el('dd', { class: r[0] === 'Result' || r[0] === 'Error' ? 'mono' : null }, [el('pre', null, [r[1]])])])
            }, []),
          ),
        )
      })
      .catch(function (error) {
        box.textContent = 'Could not load ' + id + ': ' + error.message
      })
  }

  function onSummary(s) {
    history_.push(s)
    if (history_.length > MAX_POINTS) history_.shift()
    renderHeader(s)
    renderMembers(s)
    renderAlerts(s)
    renderJobs(s)
    renderCharts()
  }

  // ---- the event stream ------------------------------------------------------------------------
  var conn = $('conn')
  function setConn(state, text) {
    conn.dataset.state = state
    conn.textContent = text
  }

  function handle(event, data) {
    if (event === 'snapshot') {
      history_ = data.history.slice(-MAX_POINTS)
      epochs = data.epochs.slice()
      renderEpochs()
      if (history_.length > 0) {
        var last = history_.pop()
        onSummary(last)
      }
    } else if (event === 'summary') {
      onSummary(data)
    } else if (event === 'epoch') {
      epochs.push(data)
      if (epochs.length > 50) epochs.shift()
      renderEpochs()
    }
  }

  var retryMs = 500
  function connect() {
    setConn('connecting', 'connecting…')
    fetch('/dashboard/events', { headers: headers(), cache: 'no-store' })
      .then(function (res) {
        if (res.status === 401) {
          setConn('error', 'needs the API token: open /#token=<token>')
          throw new Error('unauthorized')
        }
        if (!res.ok || !res.body) throw new Error('HTTP ' + res.status)
        setConn('live', 'live')
        retryMs = 500
        var reader = res.body.getReader()
        var decoder = new TextDecoder()
        var buffer = ''
        function pump() {
          return reader.read().then(function (chunk) {
            if (chunk.done) throw new Error('the stream ended')
            buffer += decoder.decode(chunk.value, { stream: true })
            var cut
            while ((cut = buffer.indexOf('\n\n')) >= 0) {
              var block = buffer.slice(0, cut)
              buffer = buffer.slice(cut + 2)
              var event = 'message'
              var data = ''
              block.split('\n').forEach(function (line) {
                if (line.indexOf('event: ') === 0) event = line.slice(7)
                else if (line.indexOf('data: ') === 0) data += line.slice(6)
              })
              if (data !== '') handle(event, JSON.parse(data))
            }
            return pump()
          })
        }
        return pump()
      })
      .catch(function (error) {
        if (error && error.message === 'unauthorized') return
        setConn('error', 'disconnected, retrying…')
        setTimeout(connect, retryMs)
        retryMs = Math.min(5000, retryMs * 2)
      })
  }
  connect()
})()
