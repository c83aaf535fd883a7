// The dashboard: plain JS served as is (no build step). It reads the same API as the CLI:
// GET /v1/jobs and /v1/trainers every few seconds, and one job's Server-Sent Events for
// live curves. The token (if the API has one) is kept in sessionStorage and sent as an
// Authorization header, also for the event stream: EventSource cannot send headers, so
// the stream is read with fetch, and the token never appears in a URL or a server log.
'use strict';

(function () {
  var TOKEN_KEY = 'mnist-api-token';
  var POLL_MS = 2000;
  var FINAL = { succeeded: true, failed: true, cancelled: true };
  var SVG_NS = 'http://www.w3.org/2000/svg';

  var $ = function (sel) { return document.querySelector(sel); };
  var state = {
    token: sessionStorage.getItem(TOKEN_KEY) || '',
    jobs: [],
    selected: null, // job id
    follow: null, // { id, abort: AbortController }
    records: {}, // epoch -> EpochRecord of the selected job
    jobState: null,
    pollTimer: null,
  };

  // ---- API ---------------------------------------------------------------------------

  function headers(extra) {
    var h = extra || {};
    if (state.token) h.Authorization = 'Bearer ' + state.token;
    return h;
  }

  function notice(text, ok) {
    var n = $('#notice');
    n.textContent = text || '';
    n.className = ok ? 'ok' : '';
  }

  function getJson(path) {
    return fetch(path, { headers: headers() }).then(function (res) {
      if (res.status === 401) throw new Error(state.token ? 'the API refused this token' : 'this API needs a token: enter it above');
      if (!res.ok) return res.json().then(function (b) { throw new Error(path + ': ' + (b.error || res.status)); }, function () { throw new Error(path + ': HTTP ' + res.status); });
      return res.json();
    });
  }

  // ---- tables ------------------------------------------------------------------------

  function cell(tr, text, cls) {
    var td = document.createElement('td');
    if (cls) {
      var span = document.createElement('span');
      span.className = cls;
      span.textContent = text;
      td.appendChild(span);
    } else {
      td.textContent = text;
    }
    tr.appendChild(td);
    return td;
  }

  function ago(iso) {
    var s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.round(s / 60) + ' min ago';
    return new Date(iso).toLocaleString();
  }

  function renderJobs(jobs) {
    var body = $('#jobs tbody');
    body.textContent = '';
    jobs.forEach(function (j) {
      var tr = document.createElement('tr');
      tr.dataset.id = j.id;
      if (j.id === state.selected) tr.className = 'selected';
      cell(tr, j.id);
      cell(tr, j.spec.model);
      cell(tr, j.state, 'state ' + j.state);
      cell(tr, j.epoch + '/' + j.spec.epochs);
      cell(tr, String(j.spec.replicas));
      cell(tr, (j.trainers || []).join(', '));
      cell(tr, ago(j.createdAt));
      tr.title = j.message || '';
      tr.addEventListener('click', function () { select(j.id); });
      body.appendChild(tr);
    });
    $('#jobs-empty').hidden = jobs.length > 0;
  }

  function renderTrainers(trainers) {
    var body = $('#trainers tbody');
    body.textContent = '';
    trainers.forEach(function (t) {
      var tr = document.createElement('tr');
      tr.title = 'host ' + t.host + ', pid ' + t.pid + ', up since ' + new Date(t.startedAt).toLocaleString();
      cell(tr, t.id);
      cell(tr, t.backend);
      cell(tr, t.state, 'state ' + (t.state === 'busy' ? 'running' : t.state));
      cell(tr, t.jobId || '');
      cell(tr, t.rank === undefined ? '' : String(t.rank));
      cell(tr, ago(t.lastSeen));
      body.appendChild(tr);
    });
    $('#trainers-empty').hidden = trainers.length > 0;
  }

  // A sweep's progress: jobs ended of its total as a bar, and its counts by state.
  function renderSweeps(sweeps) {
    var body = $('#sweeps tbody');
    body.textContent = '';
    sweeps.forEach(function (s) {
      var tr = document.createElement('tr');
      var ended = s.counts.succeeded + s.counts.failed + s.counts.cancelled;
      cell(tr, s.id);
      cell(tr, s.state, 'state ' + s.state);
      var td = cell(tr, ended + '/' + s.total + ' ended');
      var bar = document.createElement('span');
      bar.className = 'sweep-bar';
      var fill = document.createElement('i');
      fill.style.width = (100 * ended / Math.max(1, s.total)).toFixed(1) + '%';
      bar.appendChild(fill);
      td.insertBefore(bar, td.firstChild);
      cell(tr, ['succeeded', 'running', 'queued', 'parked', 'failed', 'cancelled'].filter(function (k) { return s.counts[k] > 0; })
        .map(function (k) { return s.counts[k] + ' ' + k; }).join(', '));
      cell(tr, ago(s.createdAt));
      tr.dataset.id = s.id;
      if (s.id === state.sweep) tr.className = 'selected';
      tr.addEventListener('click', function () { state.sweep = s.id; renderSweeps(sweeps); drawSweep(); });
      body.appendChild(tr);
    });
    $('#sweeps-panel').hidden = sweeps.length === 0;
  }

  // ---- one sweep: test accuracy per epoch, mean ± std over seeds, per configuration ----

  var SWEEP_COLOURS = ['#1f6fb4', '#e4570e', '#2a9d4b', '#8e44ad', '#b8860b', '#c0392b'];
  var sweepRecords = {}; // job id -> records, kept once the job has ended

  function meanStd(xs) {
    var m = xs.reduce(function (a, b) { return a + b; }, 0) / xs.length;
    if (xs.length < 2) return [m, NaN];
    var v = xs.reduce(function (a, b) { return a + (b - m) * (b - m); }, 0) / (xs.length - 1);
    return [m, Math.sqrt(v)];
  }

  function drawSweep() {
    var id = state.sweep;
    if (!id) return;
    getJson('/v1/sweeps/' + id).then(function (s) {
      var jobs = s.jobs.filter(function (j) { return j.epoch > 0; });
      return Promise.all(jobs.map(function (j) {
        if (sweepRecords[j.id]) return sweepRecords[j.id];
        return getJson('/v1/jobs/' + j.id + '/metrics').then(function (m) {
          if (FINAL[j.state]) sweepRecords[j.id] = m.records;
          return m.records;
        });
      })).then(function (all) {
        if (state.sweep !== id) return;
        // Jobs that differ only by seed form one group.
        var groups = {};
        jobs.forEach(function (j, i) {
          var key = j.spec.model + ' lr ' + j.spec.optimizer.lr + ' batch ' + j.spec.batchSize;
          (groups[key] = groups[key] || []).push(all[i]);
        });
        var epochs = Math.max.apply(null, s.jobs.map(function (j) { return j.spec.epochs; }));
        var series = Object.keys(groups).map(function (key, g) {
          var byEpoch = {};
          groups[key].forEach(function (recs) { recs.forEach(function (r) { (byEpoch[r.epoch] = byEpoch[r.epoch] || []).push(r.testAcc); }); });
          var es = Object.keys(byEpoch).map(Number).sort(function (a, b) { return a - b; });
          var stats = es.map(function (e) { return meanStd(byEpoch[e]); });
          return {
            cls: 'sweep', label: key + ' (' + groups[key].length + ' seeds)', color: SWEEP_COLOURS[g % SWEEP_COLOURS.length],
            points: es.map(function (e, i) { return [e, stats[i][0]]; }),
            band: es.map(function (e, i) { return [e, stats[i][0] - stats[i][1], stats[i][0] + stats[i][1]]; }),
          };
        });
        $('#sweep-detail').hidden = false;
        $('#sweep-id').textContent = id;
        drawChart($('#sweep-chart'), series, epochs, function (v) { return (100 * v).toFixed(2) + '%'; });
        var legend = $('#sweep-legend');
        legend.textContent = '';
        series.forEach(function (s) {
          var item = document.createElement('span');
          var swatch = document.createElement('i');
          swatch.style.borderColor = s.color;
          item.appendChild(swatch);
          item.appendChild(document.createTextNode(s.label));
          legend.appendChild(item);
        });
      });
    }, function (err) { notice(err.message); });
  }

  function poll() {
    clearTimeout(state.pollTimer);
    // Sweeps are optional: an API without them still shows jobs and trainers.
    var sweeps = getJson('/v1/sweeps').then(null, function () { return { sweeps: [] }; });
    Promise.all([getJson('/v1/jobs'), getJson('/v1/trainers'), sweeps]).then(function (r) {
      state.jobs = r[0].jobs;
      renderJobs(state.jobs);
      renderTrainers(r[1].trainers);
      renderSweeps(r[2].sweeps);
      drawSweep();
      notice('updated ' + new Date().toLocaleTimeString(), true);
      if (!state.selected) {
        var running = state.jobs.filter(function (j) { return j.state === 'running'; })[0];
        var fromHash = /^#job=([A-Za-z0-9_-]+)$/.exec(location.hash);
        if (fromHash) select(fromHash[1]);
        else if (running) select(running.id);
      } else {
        var current = state.jobs.filter(function (j) { return j.id === state.selected; })[0];
        if (current) showSummary(current);
      }
      state.pollTimer = setTimeout(poll, POLL_MS);
    }, function (err) {
      notice(err.message);
      // Wrong or missing token: wait for a new one instead of hammering the API.
      if (!/token/.test(err.message)) state.pollTimer = setTimeout(poll, POLL_MS * 2);
    });
  }

  // ---- one job: summary, progress, curves --------------------------------------------

  function pct(x) { return (100 * x).toFixed(2) + '%'; }

  function setState(s) {
    state.jobState = s;
    var el = $('#job-state');
    el.textContent = s;
    el.className = 'state ' + s;
    if (FINAL[s]) hideProgress();
  }

  // Emptied too, so that the next job never shows this one's step for a moment.
  function hideProgress() {
    var p = $('#progress');
    p.hidden = true;
    p.querySelector('.fill').style.width = '0';
    p.querySelector('.text').textContent = '';
  }

  function showSummary(j) {
    var o = j.spec.optimizer;
    $('#job-summary').textContent = j.spec.model + ' on ' + j.spec.dataset + ', ' + j.spec.epochs + ' epochs, batch ' + j.spec.batchSize +
      ', ' + o.type + ' lr ' + o.lr + ', ' + j.spec.replicas + ' replica(s)' + (j.backend ? ', backend ' + j.backend : '') +
      (j.message ? ' \u2014 ' + j.message : '');
  }

  function select(id) {
    if (state.selected === id && state.follow) return;
    state.selected = id;
    history.replaceState(null, '', '#job=' + id);
    state.records = {};
    $('#job-panel').hidden = false;
    $('#job-id').textContent = id;
    state.jobState = null;
    hideProgress();
    Array.prototype.forEach.call(document.querySelectorAll('#jobs tbody tr'), function (tr) {
      tr.className = tr.dataset.id === id ? 'selected' : '';
    });
    var known = state.jobs.filter(function (j) { return j.id === id; })[0];
    if (known) { setState(known.state); showSummary(known); }
    redraw();
    // Records already in S3 (also for jobs whose events have expired), then the live stream.
    getJson('/v1/jobs/' + id + '/metrics').then(function (m) {
      if (state.selected !== id) return;
      m.records.forEach(function (r) { state.records[r.epoch] = r; });
      redraw();
    }, function () { /* the stream below still brings the epochs */ });
    follow(id);
  }

  function onEvent(id, type, ev) {
    if (state.selected !== id) return;
    if (type === 'status') {
      setState(ev.state);
    } else if (type === 'epoch') {
      state.records[ev.record.epoch] = ev.record;
      redraw();
    } else if (type === 'progress' && !FINAL[state.jobState]) {
      var p = $('#progress');
      p.hidden = false;
      p.querySelector('.fill').style.width = (100 * ev.step / ev.steps).toFixed(1) + '%';
      p.querySelector('.text').textContent = 'epoch ' + ev.epoch + ', step ' + ev.step + '/' + ev.steps + ', ' +
        Math.round(ev.imagesPerSec).toLocaleString() + ' img/s, loss ' + ev.loss.toFixed(4);
    }
  }

  // Server-Sent Events over fetch, so that the Authorization header goes along.
  function follow(id) {
    if (state.follow) state.follow.abort.abort();
    var ctl = new AbortController();
    state.follow = { id: id, abort: ctl };
    var lastId = '';
    var connect = function () {
      var h = headers({ Accept: 'text/event-stream' });
      if (lastId) h['Last-Event-ID'] = lastId;
      fetch('/v1/jobs/' + id + '/events', { headers: h, signal: ctl.signal }).then(function (res) {
        if (res.status === 204) return 'done';
        if (!res.ok) throw new Error('events: HTTP ' + res.status);
        return readEvents(res.body, function (m) {
          if (m.id) lastId = m.id;
          var ev;
          try { ev = JSON.parse(m.data); } catch (e) { return; }
          onEvent(id, m.event, ev);
        });
      }).then(function () {
        // The server ends the stream after the final status; otherwise resume where we were.
        if (!ctl.signal.aborted && !FINAL[state.jobState]) setTimeout(connect, 1000);
      }, function (err) {
        if (ctl.signal.aborted) return;
        notice(err.message);
        setTimeout(connect, 3000);
      });
    };
    connect();
  }

  function readEvents(body, onMessage) {
    var reader = body.getReader();
    var decoder = new TextDecoder();
    var buffer = '';
    var msg = { event: '', data: [], id: '' };
    var line = function (l) {
      if (l === '') {
        if (msg.data.length) onMessage({ event: msg.event || 'message', data: msg.data.join('\n'), id: msg.id });
        msg = { event: '', data: [], id: '' };
        return;
      }
      if (l.charAt(0) === ':') return;
      var i = l.indexOf(':');
      var field = i < 0 ? l : l.slice(0, i);
      var value = i < 0 ? '' : l.slice(i + 1).replace(/^ /, '');
      if (field === 'data') msg.data.push(value);
      else if (field === 'event') msg.event = value;
      else if (field === 'id') msg.id = value;
    };
    var pump = function () {
      return reader.read().then(function (r) {
        buffer += decoder.decode(r.value || new Uint8Array(), { stream: !r.done });
        var lines = buffer.split(/\r\n|\n|\r(?!$)/);
        buffer = r.done ? '' : lines.pop();
        lines.forEach(line);
        return r.done ? undefined : pump();
      });
    };
    return pump();
  }

  // ---- charts ------------------------------------------------------------------------

  function svgEl(name, attrs, parent) {
    var el = document.createElementNS(SVG_NS, name);
    Object.keys(attrs).forEach(function (k) { el.setAttribute(k, String(attrs[k])); });
    if (parent) parent.appendChild(el);
    return el;
  }

  function niceTicks(lo, hi, count) {
    var span = hi - lo || Math.abs(hi) || 1;
    var step = Math.pow(10, Math.floor(Math.log10(span / count)));
    var err = span / count / step;
    step *= err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1;
    var ticks = [];
    var end = Math.ceil(hi / step - 1e-9) * step;
    for (var t = Math.floor(lo / step + 1e-9) * step; t <= end + step * 1e-9; t += step) ticks.push(+t.toFixed(10));
    return ticks;
  }

  // series: [{ cls: 'train' | 'test', points: [[epoch, value]] }]
  function drawChart(svg, series, epochs, format) {
    svg.textContent = '';
    var W = 520, H = 280, L = 56, R = 14, T = 14, B = 36;
    var values = [];
    series.forEach(function (s) {
      s.points.forEach(function (p) { values.push(p[1]); });
      (s.band || []).forEach(function (b) { if (isFinite(b[1]) && isFinite(b[2])) values.push(b[1], b[2]); });
    });
    if (!values.length) {
      svgEl('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, svg).textContent = 'waiting for the first epoch\u2026';
      return;
    }
    var ticksY = niceTicks(Math.min.apply(null, values), Math.max.apply(null, values), 5);
    var y0 = ticksY[0], y1 = ticksY[ticksY.length - 1];
    if (y1 === y0) { y1 = y0 + 1; }
    var xMax = Math.max(epochs, 2);
    var x = function (e) { return L + (W - L - R) * (e - 1) / (xMax - 1); };
    var y = function (v) { return H - B - (H - T - B) * (v - y0) / (y1 - y0); };
    ticksY.forEach(function (t) {
      svgEl('line', { x1: L, x2: W - R, y1: y(t), y2: y(t), class: 'grid' }, svg);
      svgEl('text', { x: L - 6, y: y(t) + 4, 'text-anchor': 'end' }, svg).textContent = format(t);
    });
    niceTicks(1, xMax, Math.min(xMax - 1, 10)).forEach(function (e) {
      if (e < 1 || e !== Math.round(e)) return;
      svgEl('text', { x: x(e), y: H - B + 16, 'text-anchor': 'middle' }, svg).textContent = String(e);
    });
    svgEl('text', { x: (L + W - R) / 2, y: H - 4, 'text-anchor': 'middle' }, svg).textContent = 'epoch';
    svgEl('line', { x1: L, x2: L, y1: T, y2: H - B, class: 'axis' }, svg);
    svgEl('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, class: 'axis' }, svg);
    // Bands (mean ± std over seeds) first, so every line stays on top.
    series.forEach(function (s) {
      var band = (s.band || []).filter(function (b) { return isFinite(b[1]) && isFinite(b[2]); });
      if (band.length < 2) return;
      var edge = band.map(function (b) { return x(b[0]).toFixed(1) + ',' + y(b[2]).toFixed(1); })
        .concat(band.slice().reverse().map(function (b) { return x(b[0]).toFixed(1) + ',' + y(b[1]).toFixed(1); }));
      svgEl('polygon', { points: edge.join(' '), class: 'band', 'data-series': s.label }, svg).style.fill = s.color;
    });
    series.forEach(function (s) {
      var pts = s.points.map(function (p) { return x(p[0]).toFixed(1) + ',' + y(p[1]).toFixed(1); }).join(' ');
      var line = svgEl('polyline', { points: pts, class: s.cls, 'data-series': s.label || s.cls }, svg);
      // Through the CSSOM: the stylesheet's class rules beat presentation attributes, and the
      // page's Content-Security-Policy refuses style attributes.
      if (s.color) line.style.stroke = s.color;
      s.points.forEach(function (p) {
        var dot = svgEl('circle', { cx: x(p[0]), cy: y(p[1]), r: 3.5, class: s.cls, 'data-epoch': p[0] }, svg);
        if (s.color) dot.style.fill = s.color;
        dot.appendChild(document.createElementNS(SVG_NS, 'title')).textContent = (s.label || s.cls) + ' epoch ' + p[0] + ': ' + format(p[1]);
      });
    });
  }

  function redraw() {
    var recs = Object.keys(state.records).map(Number).sort(function (a, b) { return a - b; }).map(function (e) { return state.records[e]; });
    var job = state.jobs.filter(function (j) { return j.id === state.selected; })[0];
    var epochs = job ? job.spec.epochs : (recs.length ? recs[recs.length - 1].epoch : 1);
    var pick = function (f) { return recs.map(function (r) { return [r.epoch, f(r)]; }); };
    drawChart($('#loss-chart'), [
      { cls: 'train', points: pick(function (r) { return r.trainLoss; }) },
      { cls: 'test', points: pick(function (r) { return r.testLoss; }) },
    ], epochs, function (v) { return v.toFixed(v < 1 ? 3 : 2); });
    drawChart($('#acc-chart'), [
      { cls: 'train', points: pick(function (r) { return r.trainAcc; }) },
      { cls: 'test', points: pick(function (r) { return r.testAcc; }) },
    ], epochs, function (v) { return (100 * v).toFixed(1) + '%'; });
    var body = $('#epochs tbody');
    body.textContent = '';
    recs.forEach(function (r) {
      var tr = document.createElement('tr');
      [String(r.epoch), r.trainLoss.toFixed(4), pct(r.trainAcc), r.testLoss.toFixed(4), pct(r.testAcc), Math.round(r.imagesPerSec).toLocaleString()]
        .forEach(function (t) { cell(tr, t); });
      body.appendChild(tr);
    });
  }

  // ---- start -------------------------------------------------------------------------

  $('#auth').addEventListener('submit', function (e) {
    e.preventDefault();
    state.token = $('#token').value.trim();
    $('#token').value = '';
    if (state.token) sessionStorage.setItem(TOKEN_KEY, state.token);
    else sessionStorage.removeItem(TOKEN_KEY);
    if (state.selected) { var id = state.selected; state.selected = null; select(id); }
    poll();
  });
  $('#forget').addEventListener('click', function () {
    state.token = '';
    sessionStorage.removeItem(TOKEN_KEY);
    if (state.follow) state.follow.abort.abort();
    state.follow = null;
    notice('token forgotten');
  });
  poll();
})();
