// The dashboard: plain JS served as is (no build step). It reads the same API as the CLI:
// a page of GET /v1/jobs (the runs table) and /v1/trainers every few seconds, and for the
// selected run its Server-Sent Events (state, epochs, per-step loss), its log lines and
// its artifact list. The token (if the API has one) is kept in sessionStorage and sent as
// an Authorization header, also for the event streams: EventSource cannot send headers, so
// the streams are read with fetch, and the token never appears in a URL or a server log.
// Fields a newer API adds (run names, tags, notes, accuracies, durations, logs) are shown
// when present; an older API's answers still give a working page.
'use strict';

(function () {
  var TOKEN_KEY = 'mnist-api-token';
  var POLL_MS = 2000;
  var FINAL = { succeeded: true, failed: true, cancelled: true };
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var MODELS = ['lenet5', 'lenet5-reg', 'mlp'];
  /** One colour per compared run, in the order they were ticked. */
  var RUN_COLOURS = ['#1f6fb4', '#e4570e', '#2a9d4b', '#8e44ad', '#b8860b', '#c0392b', '#138496', '#5a6268'];
  var LOG_LINES_KEPT = 1000;
  var FILTERS = ['state', 'model', 'tag', 'sweep'];

  var $ = function (sel) {
    return document.querySelector(sel);
  };
  var state = {
    token: sessionStorage.getItem(TOKEN_KEY) || '',
    page: { size: 10, cursors: [''], index: 0, next: null, loading: false },
    filters: { state: '', model: '', tag: '', sweep: '' },
    jobs: [], // the runs on the current page
    known: {}, // job id -> the latest record seen (page rows, the selected run, compared runs)
    metrics: {}, // job id -> { records, final }: epoch records fetched for the table and comparisons
    pending: {}, // job id -> true while its metrics are being fetched
    selected: null, // job id
    follow: null, // { id, abort: AbortController }: the selected run's events
    logs: null, // { id, abort: AbortController }: the selected run's log lines
    records: {}, // epoch -> EpochRecord of the selected run
    steps: [], // [fractional epoch, loss] of the selected run, from its progress events
    jobState: null,
    compare: [], // ticked job ids
    colours: {}, // ticked job id -> colour
    sweep: null,
    pollTimer: null,
    pollGen: 0,
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

  function errorOf(path, res) {
    return res.json().then(
      function (b) {
        return new Error(path + ': ' + (b.error || res.status));
      },
      function () {
        return new Error(path + ': HTTP ' + res.status);
      },
    );
  }

  function getJson(path) {
    return fetch(path, { headers: headers() }).then(function (res) {
      if (res.status === 401)
        throw new Error(state.token ? 'the API refused this token' : 'this API needs a token: enter it above');
      if (!res.ok)
        return errorOf(path, res).then(function (e) {
          throw e;
        });
      return res.json();
    });
  }

  // ---- formatting --------------------------------------------------------------------

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /** A table cell with text or an element, and the column's class. */
  function cell(tr, content, cls) {
    var td = el('td', cls);
    if (content instanceof Node) td.appendChild(content);
    else td.textContent = content;
    tr.appendChild(td);
    return td;
  }

  function pill(s) {
    return el('span', 'state ' + s, s);
  }
  function pct(x) {
    return (100 * x).toFixed(2) + '%';
  }

  function ago(iso) {
    var s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.round(s / 60) + ' min ago';
    return new Date(iso).toLocaleString();
  }

  function duration(s) {
    s = Math.round(s);
    var two = function (n) {
      return (n < 10 ? '0' : '') + n;
    };
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + two(s % 60) + 's';
    return Math.floor(s / 3600) + 'h ' + two(Math.floor(s / 60) % 60) + 'm';
  }

  function runName(j) {
    return (j && j.spec.name) || '';
  }
  /** How a run is called in legends: its name, else its id. */
  function runLabel(id) {
    return runName(state.known[id]) || id;
  }

  // ---- a run's numbers: from the list when the API gives them, else from its metrics --

  function recordsOf(id) {
    if (id === state.selected) {
      return Object.keys(state.records)
        .map(Number)
        .sort(function (a, b) {
          return a - b;
        })
        .map(function (e) {
          return state.records[e];
        });
    }
    return state.metrics[id] ? state.metrics[id].records : [];
  }

  function bestAcc(j) {
    if (typeof j.bestTestAcc === 'number') return j.bestTestAcc;
    var recs = recordsOf(j.id);
    return recs.length
      ? Math.max.apply(
          null,
          recs.map(function (r) {
            return r.testAcc;
          }),
        )
      : undefined;
  }

  // A live run's last accuracy is not its final one: shown once the run has ended.
  function finalAcc(j) {
    if (!FINAL[j.state]) return undefined;
    if (typeof j.finalTestAcc === 'number') return j.finalTestAcc;
    var recs = recordsOf(j.id);
    return recs.length ? recs[recs.length - 1].testAcc : undefined;
  }

  function durationSec(j) {
    if (typeof j.durationSec === 'number') return j.durationSec;
    if (!j.startedAt) return undefined;
    var end = j.finishedAt ? Date.parse(j.finishedAt) : FINAL[j.state] ? Date.parse(j.updatedAt) : Date.now();
    return Math.max(0, (end - Date.parse(j.startedAt)) / 1000);
  }

  /** Epoch records of a run; those of a run that has ended are kept, they no longer change. */
  function loadMetrics(id) {
    var m = state.metrics[id];
    if ((m && m.final) || state.pending[id]) return Promise.resolve();
    state.pending[id] = true;
    return getJson('/v1/jobs/' + id + '/metrics')
      .then(
        function (b) {
          state.metrics[id] = { records: b.records, final: !!FINAL[b.state] };
        },
        function () {
          /* the row keeps its blanks */
        },
      )
      .then(function () {
        delete state.pending[id];
      });
  }

  // An older API sends no accuracies in the list: fetch the metrics of the ended runs on this page once.
  function fillAccuracies() {
    var missing = state.jobs.filter(function (j) {
      var kept = state.metrics[j.id] && state.metrics[j.id].final;
      return typeof j.finalTestAcc !== 'number' && FINAL[j.state] && j.epoch > 0 && !kept;
    });
    if (!missing.length) return;
    Promise.all(
      missing.map(function (j) {
        return loadMetrics(j.id);
      }),
    ).then(renderJobs);
  }

  // ---- the runs table ----------------------------------------------------------------

  function listPath() {
    var q = ['limit=' + state.page.size];
    var cursor = state.page.cursors[state.page.index];
    if (cursor) q.push('cursor=' + encodeURIComponent(cursor));
    FILTERS.forEach(function (k) {
      if (state.filters[k]) q.push(k + '=' + encodeURIComponent(state.filters[k]));
    });
    return '/v1/jobs?' + q.join('&');
  }

  // The API filters; this repeats it for an older API that ignores model, tag and sweep.
  function matches(j) {
    var f = state.filters;
    if (f.state && j.state !== f.state) return false;
    if (f.model && j.spec.model !== f.model) return false;
    if (f.sweep && j.spec.sweepId !== f.sweep) return false;
    if (f.tag) {
      var i = f.tag.indexOf('=');
      if (!j.spec.tags || j.spec.tags[f.tag.slice(0, i)] !== f.tag.slice(i + 1)) return false;
    }
    return true;
  }

  function renderJobs() {
    var body = $('#jobs tbody');
    body.textContent = '';
    var rows = state.jobs.filter(matches);
    rows.forEach(function (j) {
      var tr = el('tr', j.id === state.selected ? 'selected' : '');
      tr.dataset.id = j.id;
      tr.tabIndex = 0;
      tr.title = j.message || '';

      var box = el('input');
      box.type = 'checkbox';
      box.checked = state.compare.indexOf(j.id) >= 0;
      box.setAttribute('aria-label', 'compare ' + (runName(j) || j.id));
      if (box.checked) box.style.accentColor = state.colours[j.id];
      box.addEventListener('click', function (e) {
        e.stopPropagation();
      });
      box.addEventListener('change', function () {
        toggleCompare(j.id, box.checked);
      });
      cell(tr, box, 'cmp');

      var name = cell(tr, runName(j) ? runName(j) : el('span', 'id', j.id), 'name');
      name.title = j.id + (j.spec.note ? '\n' + j.spec.note : '');
      var tags = el('span');
      Object.keys(j.spec.tags || {})
        .sort()
        .forEach(function (k, i) {
          if (i) tags.appendChild(document.createTextNode(' '));
          tags.appendChild(el('span', 'tag', k + '=' + j.spec.tags[k]));
        });
      cell(tr, tags, 'tags wide');
      cell(tr, pill(j.state));
      cell(tr, j.spec.model, 'mid');
      cell(tr, j.epoch + '/' + j.spec.epochs, 'epoch');
      var best = bestAcc(j),
        fin = finalAcc(j),
        dur = durationSec(j);
      cell(tr, best === undefined ? '' : pct(best), 'num best');
      cell(tr, fin === undefined ? '' : pct(fin), 'num mid final');
      cell(tr, dur === undefined ? '' : duration(dur), 'num mid duration');
      cell(tr, j.spec.sweepId || '', 'wide sweep').title = j.spec.sweepId || '';
      cell(tr, String(j.spec.seed), 'num wide seed');
      cell(tr, String(j.spec.optimizer.lr), 'num wide');
      cell(tr, ago(j.createdAt), 'wide');

      tr.addEventListener('click', function () {
        select(j.id);
      });
      tr.addEventListener('keydown', function (e) {
        if (e.key === 'Enter') select(j.id);
      });
      body.appendChild(tr);
    });
    var first = state.page.index * state.page.size;
    $('#page-info').textContent = rows.length ? 'runs ' + (first + 1) + '\u2013' + (first + rows.length) : '';
    // Until a page has come, its cursor is not known: no second step meanwhile.
    $('#page-prev').disabled = state.page.loading || state.page.index === 0;
    $('#page-next').disabled = state.page.loading || !state.page.next;
    $('#jobs-empty').hidden = rows.length > 0;
    var n = state.compare.length;
    $('#compare-hint').textContent = !n
      ? 'tick runs to compare'
      : n + ' ticked' + (n < 2 ? ': tick another to compare' : '');
  }

  function renderModelFilter() {
    var select = $('#f-model');
    MODELS.forEach(function (m) {
      var o = el('option', '', m);
      select.appendChild(o);
    });
  }

  function firstPage() {
    state.page.cursors = [''];
    state.page.index = 0;
    state.page.next = null;
  }

  function readFilters() {
    var tag = $('#f-tag').value.trim();
    if (tag && !/^[^=]+=.*$/.test(tag)) {
      notice('tag filter: write it as key=value, e.g. team=vision');
      return;
    }
    state.filters = {
      state: $('#f-state').value,
      model: $('#f-model').value,
      tag: tag,
      sweep: $('#f-sweep').value.trim(),
    };
    firstPage();
    poll();
  }

  // ---- compare: ticked runs' test curves overlaid, one colour each ------------------

  function toggleCompare(id, on) {
    var i = state.compare.indexOf(id);
    if (on && i < 0) {
      var used = state.compare.map(function (c) {
        return state.colours[c];
      });
      var free = RUN_COLOURS.filter(function (c) {
        return used.indexOf(c) < 0;
      });
      state.colours[id] = free[0] || RUN_COLOURS[state.compare.length % RUN_COLOURS.length];
      state.compare.push(id);
    } else if (!on && i >= 0) {
      state.compare.splice(i, 1);
      delete state.colours[id];
    }
    renderJobs();
    redraw();
    refreshCompare();
  }

  function refreshCompare() {
    var ids = state.compare.filter(function (id) {
      return id !== state.selected;
    });
    if (ids.length) Promise.all(ids.map(loadMetrics)).then(redraw);
  }

  function renderCompareLegend(on) {
    var legend = $('#compare-legend');
    legend.hidden = !on;
    legend.textContent = '';
    if (!on) return;
    legend.appendChild(document.createTextNode('Comparing ' + state.compare.length + ' runs:'));
    state.compare.forEach(function (id) {
      var item = el('span', 'run');
      item.dataset.id = id;
      var swatch = el('i');
      swatch.style.borderColor = state.colours[id];
      item.appendChild(swatch);
      var j = state.known[id];
      var best = j ? bestAcc(j) : undefined;
      item.appendChild(document.createTextNode(runLabel(id) + (best === undefined ? '' : ' (best ' + pct(best) + ')')));
      legend.appendChild(item);
    });
    var clear = el('button', '', 'clear');
    clear.type = 'button';
    clear.addEventListener('click', function () {
      state.compare.slice().forEach(function (id) {
        toggleCompare(id, false);
      });
    });
    legend.appendChild(clear);
  }

  function renderTrainers(trainers) {
    var body = $('#trainers tbody');
    body.textContent = '';
    trainers.forEach(function (t) {
      var tr = el('tr');
      tr.title = 'host ' + t.host + ', pid ' + t.pid + ', up since ' + new Date(t.startedAt).toLocaleString();
      cell(tr, t.id);
      cell(tr, t.backend);
      cell(tr, pill(t.state === 'busy' ? 'running' : t.state)).firstChild.textContent = t.state;
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
      cell(tr, pill(s.state));
      var td = cell(tr, ended + '/' + s.total + ' ended');
      var bar = document.createElement('span');
      bar.className = 'sweep-bar';
      var fill = document.createElement('i');
      fill.style.width = ((100 * ended) / Math.max(1, s.total)).toFixed(1) + '%';
      bar.appendChild(fill);
      td.insertBefore(bar, td.firstChild);
      cell(
        tr,
        ['succeeded', 'running', 'queued', 'parked', 'failed', 'cancelled']
          .filter(function (k) {
            return s.counts[k] > 0;
          })
          .map(function (k) {
            return s.counts[k] + ' ' + k;
          })
          .join(', '),
      );
      cell(tr, ago(s.createdAt));
      tr.dataset.id = s.id;
      if (s.id === state.sweep) tr.className = 'selected';
      tr.addEventListener('click', function () {
        state.sweep = s.id;
        renderSweeps(sweeps);
        drawSweep();
      });
      body.appendChild(tr);
    });
    $('#sweeps-panel').hidden = sweeps.length === 0;
  }

  // ---- one sweep: test accuracy per epoch, mean ± std over seeds, per configuration ----

  var SWEEP_COLOURS = ['#1f6fb4', '#e4570e', '#2a9d4b', '#8e44ad', '#b8860b', '#c0392b'];

  function meanStd(xs) {
    var m =
      xs.reduce(function (a, b) {
        return a + b;
      }, 0) / xs.length;
    if (xs.length < 2) return [m, NaN];
    var v =
      xs.reduce(function (a, b) {
        return a + (b - m) * (b - m);
      }, 0) /
      (xs.length - 1);
    return [m, Math.sqrt(v)];
  }

  function drawSweep() {
    var id = state.sweep;
    if (!id) return;
    getJson('/v1/sweeps/' + id).then(
      function (s) {
        var jobs = s.jobs.filter(function (j) {
          return j.epoch > 0;
        });
        var records = function (j) {
          return loadMetrics(j.id).then(function () {
            return recordsOf(j.id);
          });
        };
        return Promise.all(jobs.map(records)).then(function (all) {
          if (state.sweep !== id) return;
          // Jobs that differ only by seed form one group.
          var groups = {};
          jobs.forEach(function (j, i) {
            var key = j.spec.model + ' lr ' + j.spec.optimizer.lr + ' batch ' + j.spec.batchSize;
            (groups[key] = groups[key] || []).push(all[i]);
          });
          var epochs = Math.max.apply(
            null,
            s.jobs.map(function (j) {
              return j.spec.epochs;
            }),
          );
          var series = Object.keys(groups).map(function (key, g) {
            var byEpoch = {};
            groups[key].forEach(function (recs) {
              recs.forEach(function (r) {
                (byEpoch[r.epoch] = byEpoch[r.epoch] || []).push(r.testAcc);
              });
            });
            var es = Object.keys(byEpoch)
              .map(Number)
              .sort(function (a, b) {
                return a - b;
              });
            var stats = es.map(function (e) {
              return meanStd(byEpoch[e]);
            });
            return {
              cls: 'sweep',
              label: key + ' (' + groups[key].length + ' seeds)',
              color: SWEEP_COLOURS[g % SWEEP_COLOURS.length],
              points: es.map(function (e, i) {
                return [e, stats[i][0]];
              }),
              band: es.map(function (e, i) {
                return [e, stats[i][0] - stats[i][1], stats[i][0] + stats[i][1]];
              }),
            };
          });
          $('#sweep-detail').hidden = false;
          $('#sweep-id').textContent = id;
          drawChart($('#sweep-chart'), series, {
            x0: 1,
            x1: epochs,
            format: function (v) {
              return (100 * v).toFixed(2) + '%';
            },
          });
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
      },
      function (err) {
        notice(err.message);
      },
    );
  }

  function poll() {
    clearTimeout(state.pollTimer);
    // Sweeps are optional: an API without them still shows jobs and trainers.
    var sweeps = getJson('/v1/sweeps').then(null, function () {
      return { sweeps: [] };
    });
    var gen = ++state.pollGen;
    Promise.all([getJson(listPath()), getJson('/v1/trainers'), sweeps]).then(
      function (r) {
        // A later poll (another page, a filter) has started: its answer is the one to show.
        if (gen !== state.pollGen) return;
        state.page.loading = false;
        state.jobs = r[0].jobs;
        state.page.next = r[0].nextCursor || null;
        state.jobs.forEach(function (j) {
          state.known[j.id] = j;
        });
        renderJobs();
        renderTrainers(r[1].trainers);
        renderSweeps(r[2].sweeps);
        drawSweep();
        fillAccuracies();
        refreshCompare();
        notice('updated ' + new Date().toLocaleTimeString(), true);
        if (!state.selected) {
          var fromHash = /^#job=([A-Za-z0-9_-]+)$/.exec(location.hash);
          var running = state.jobs.filter(function (j) {
            return j.state === 'running';
          })[0];
          var pick = fromHash ? fromHash[1] : running ? running.id : state.jobs[0] && state.jobs[0].id;
          if (pick) select(pick);
        } else if (
          state.jobs.some(function (j) {
            return j.id === state.selected;
          })
        ) {
          showSummary(state.known[state.selected]);
        } else {
          refreshSelected(state.selected);
        }
        state.pollTimer = setTimeout(poll, POLL_MS);
      },
      function (err) {
        if (gen !== state.pollGen) return;
        state.page.loading = false;
        notice(err.message);
        // Wrong or missing token: wait for a new one instead of hammering the API.
        if (!/token/.test(err.message)) state.pollTimer = setTimeout(poll, POLL_MS * 2);
      },
    );
  }

  // ---- the selected run: summary, progress, curves, logs, artifacts -----------------

  function setState(s) {
    var was = state.jobState;
    state.jobState = s;
    var e = $('#job-state');
    e.textContent = s;
    e.className = 'state ' + s;
    if (FINAL[s]) hideProgress();
    if (FINAL[s] && was && !FINAL[was]) reloadArtifactsSoon(state.selected);
  }

  // Emptied too, so that the next job never shows this one's step for a moment.
  function hideProgress() {
    var p = $('#progress');
    p.hidden = true;
    p.querySelector('.fill').style.width = '0';
    p.querySelector('.text').textContent = '';
  }

  function showSummary(j) {
    if (!j || j.id !== state.selected) return;
    var s = j.spec,
      o = s.optimizer;
    $('#job-name').textContent = runName(j) || 'Run';
    var tags = Object.keys(s.tags || {})
      .sort()
      .map(function (k) {
        return k + '=' + s.tags[k];
      });
    $('#job-summary').textContent = [
      s.model +
        ' on ' +
        s.dataset +
        ', ' +
        s.epochs +
        ' epochs, batch ' +
        s.batchSize +
        ', ' +
        o.type +
        ' lr ' +
        o.lr +
        ', seed ' +
        s.seed,
      s.replicas + ' replica(s)' + (j.backend ? ', backend ' + j.backend : ''),
      s.sweepId ? 'sweep ' + s.sweepId : '',
      tags.length ? 'tags ' + tags.join(' ') : '',
      s.note || '',
      j.message || '',
    ]
      .filter(Boolean)
      .join(' \u00b7 ');
  }

  // The selected run is not on this page (another page, a filter, #job= in the URL): fetch its record.
  function refreshSelected(id) {
    getJson('/v1/jobs/' + id).then(
      function (j) {
        state.known[id] = j;
        showSummary(j);
        if (!state.jobState) setState(j.state);
      },
      function (err) {
        if (state.selected === id) notice(err.message);
      },
    );
  }

  function select(id) {
    if (state.selected === id && state.follow) return;
    // The records the last selected run brought keep its row's accuracies filled.
    var was = state.selected;
    if (was && !state.metrics[was]) state.metrics[was] = { records: recordsOf(was), final: false };
    state.selected = id;
    history.replaceState(null, '', '#job=' + id);
    state.records = {};
    state.steps = [];
    $('#resizes').replaceChildren();
    $('#resizes').hidden = true;
    state.jobState = null;
    hideProgress();
    $('#job-panel').hidden = false;
    $('#job-id').textContent = id;
    $('#job-name').textContent = runName(state.known[id]) || 'Run';
    $('#job-summary').textContent = '';
    Array.prototype.forEach.call(document.querySelectorAll('#jobs tbody tr'), function (tr) {
      tr.className = tr.dataset.id === id ? 'selected' : '';
    });
    var known = state.known[id];
    if (known) {
      setState(known.state);
      showSummary(known);
    } else refreshSelected(id);
    redraw();
    // Records already in S3 (also for jobs whose events have expired), then the live stream.
    getJson('/v1/jobs/' + id + '/metrics').then(
      function (m) {
        if (state.selected !== id) return;
        m.records.forEach(function (r) {
          state.records[r.epoch] = r;
        });
        redraw();
      },
      function () {
        /* the stream below still brings the epochs */
      },
    );
    follow(id);
    followLogs(id);
    loadArtifacts(id);
  }

  /** An elastic job's group changed: one line per resize (from, to, where, why). */
  function showResize(ev) {
    var list = $('#resizes');
    var li = document.createElement('li');
    li.textContent =
      ev.from + ' \u2192 ' + ev.to + ' ranks at epoch ' + ev.epoch + ', step ' + ev.step + ' (' + ev.why + ')';
    list.appendChild(li);
    list.hidden = false;
  }

  var stepTimer = null;
  function onEvent(id, type, ev) {
    if (state.selected !== id) return;
    if (type === 'status') {
      setState(ev.state);
    } else if (type === 'epoch') {
      state.records[ev.record.epoch] = ev.record;
      redraw();
      reloadArtifactsSoon(id); // a new checkpoint
    } else if (type === 'resize') {
      showResize(ev);
    } else if (type === 'progress') {
      state.steps.push([ev.epoch - 1 + ev.step / ev.steps, ev.loss]);
      // A replayed stream brings hundreds of these at once: draw once they have arrived.
      if (!stepTimer)
        stepTimer = setTimeout(function () {
          stepTimer = null;
          drawSteps();
        }, 150);
      if (FINAL[state.jobState]) return;
      var p = $('#progress');
      p.hidden = false;
      p.querySelector('.fill').style.width = ((100 * ev.step) / ev.steps).toFixed(1) + '%';
      p.querySelector('.text').textContent =
        'epoch ' +
        ev.epoch +
        ', step ' +
        ev.step +
        '/' +
        ev.steps +
        ', ' +
        Math.round(ev.imagesPerSec).toLocaleString() +
        ' img/s, loss ' +
        ev.loss.toFixed(4);
    }
  }

  /** Server-Sent Events over fetch (so that the Authorization header goes along), reopened until `done()`. */
  function streamWith(open, ctl, onMessage, done) {
    var connect = function () {
      open()
        .then(function (res) {
          if (res.status === 204) return;
          if (!res.ok)
            return errorOf(new URL(res.url).pathname, res).then(function (e) {
              throw e;
            });
          return readEvents(res.body, onMessage);
        })
        .then(
          function () {
            // The server ends the stream after the final status; otherwise resume where we were.
            if (!ctl.signal.aborted && !done()) setTimeout(connect, 1000);
          },
          function (err) {
            if (ctl.signal.aborted) return;
            notice(err.message);
            setTimeout(connect, 3000);
          },
        );
    };
    connect();
  }

  function follow(id) {
    if (state.follow) state.follow.abort.abort();
    var ctl = new AbortController();
    state.follow = { id: id, abort: ctl };
    var lastId = '';
    var onMessage = function (m) {
      if (m.id) lastId = m.id;
      var ev;
      try {
        ev = JSON.parse(m.data);
      } catch (e) {
        return;
      }
      onEvent(id, m.event, ev);
    };
    var open = function () {
      var h = headers({ Accept: 'text/event-stream' });
      if (lastId) h['Last-Event-ID'] = lastId;
      return fetch('/v1/jobs/' + id + '/events', { headers: h, signal: ctl.signal });
    };
    streamWith(open, ctl, onMessage, function () {
      return FINAL[state.jobState];
    });
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

  // Log lines: those kept so far (GET /v1/jobs/:id/logs), then, while the run is live, the
  // follow stream from the last one seen. A line is shown once, by its seq.
  function followLogs(id) {
    if (state.logs) state.logs.abort.abort();
    var ctl = new AbortController();
    state.logs = { id: id, abort: ctl };
    var pre = $('#logs');
    pre.textContent = '';
    $('#logs-info').textContent = '';
    var seen = -1;
    var add = function (l) {
      if (typeof l.seq === 'number') {
        if (l.seq <= seen) return;
        seen = l.seq;
      }
      appendLog(l);
    };
    var path = '/v1/jobs/' + id + '/logs';
    fetch(path + '?limit=' + LOG_LINES_KEPT, { headers: headers(), signal: ctl.signal })
      .then(function (res) {
        if (!res.ok) {
          return res
            .json()
            .then(null, function () {
              return {};
            })
            .then(function (b) {
              var older = /^no route/.test(b.error || '');
              logNote(
                older
                  ? 'this API keeps no job logs (it predates the logs route): mnist logs needs a newer API'
                  : 'no logs: ' + (b.error || 'HTTP ' + res.status),
              );
            });
        }
        return res.json().then(function (b) {
          if (!state.logs || state.logs.id !== id) return;
          b.lines.forEach(add);
          if (!b.lines.length) logNote(FINAL[state.jobState] ? 'this run left no log lines' : 'no log lines yet');
          if (FINAL[state.jobState]) return;
          streamWith(
            function () {
              var since = seen >= 0 ? '&since=' + seen : '';
              return fetch(path + '?follow=1' + since, {
                headers: headers({ Accept: 'text/event-stream' }),
                signal: ctl.signal,
              });
            },
            ctl,
            function (m) {
              if (m.event !== 'log') return;
              try {
                add(JSON.parse(m.data));
              } catch (e) {
                /* not a log line */
              }
            },
            function () {
              return FINAL[state.jobState];
            },
          );
        });
      })
      .then(null, function (err) {
        if (!ctl.signal.aborted) logNote('logs: ' + err.message);
      });
  }

  function logNote(text) {
    var pre = $('#logs');
    pre.textContent = '';
    pre.appendChild(el('span', 'none', text));
  }

  function appendLog(l) {
    var pre = $('#logs');
    var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    if (pre.querySelector('.none')) pre.textContent = '';
    var line = el('div', l.level === 'warn' || l.level === 'error' ? l.level : '');
    var when = l.ts ? new Date(l.ts).toLocaleTimeString([], { hour12: false }) : '';
    var where = ' r' + l.rank + ' a' + l.attempt + (l.trainerId ? ' ' + l.trainerId : '');
    line.appendChild(el('span', 'meta', when + where + ' '));
    line.appendChild(document.createTextNode(l.text || l.event || ''));
    pre.appendChild(line);
    while (pre.childNodes.length > LOG_LINES_KEPT) pre.removeChild(pre.firstChild);
    $('#logs-info').textContent = pre.childNodes.length + ' lines';
    if (atEnd) pre.scrollTop = pre.scrollHeight;
  }

  // ---- artifacts: links to the job's files through the artifact routes ----------------

  /** Report, curves and data files first, then the rest; checkpoints in one list of their own. */
  var ARTIFACT_ORDER = ['report.md', 'curves.png', 'curves.svg', 'metrics.jsonl', 'final-eval.json', 'spec.json'];

  // Once for a burst of epochs (a replayed stream brings them all at once).
  var artifactsTimer = null;
  function reloadArtifactsSoon(id) {
    clearTimeout(artifactsTimer);
    artifactsTimer = setTimeout(function () {
      if (state.selected === id) loadArtifacts(id);
    }, 500);
  }

  function loadArtifacts(id) {
    var nav = $('#artifacts');
    getJson('/v1/jobs/' + id + '/artifacts').then(
      function (b) {
        if (state.selected !== id) return;
        nav.textContent = '';
        var keys = b.artifacts.filter(function (a) {
          return !/^attempts\//.test(a.key);
        });
        var rank = function (k) {
          var i = ARTIFACT_ORDER.indexOf(k);
          return i < 0 ? ARTIFACT_ORDER.length : i;
        };
        var files = keys
          .filter(function (a) {
            return !/^checkpoints\//.test(a.key);
          })
          .sort(function (p, q) {
            return rank(p.key) - rank(q.key) || (p.key < q.key ? -1 : 1);
          });
        var checkpoints = keys.filter(function (a) {
          return /^checkpoints\//.test(a.key);
        });
        files.forEach(function (a) {
          nav.appendChild(artifactLink(a));
        });
        if (checkpoints.length) {
          var box = el('details');
          var epochs = {};
          checkpoints.forEach(function (a) {
            epochs[a.key.split('/')[1]] = true;
          });
          box.appendChild(el('summary', '', 'checkpoints (' + Object.keys(epochs).length + ')'));
          var list = el('ul');
          checkpoints.forEach(function (a) {
            list.appendChild(el('li')).appendChild(artifactLink(a, a.key.slice('checkpoints/'.length)));
          });
          box.appendChild(list);
          nav.appendChild(box);
        }
        if (!keys.length) nav.appendChild(el('span', 'hint', 'no artifacts yet'));
      },
      function (err) {
        if (state.selected !== id) return;
        nav.textContent = '';
        nav.appendChild(el('span', 'hint', 'artifacts: ' + err.message));
      },
    );
  }

  // With a token, a plain link would be refused (401): fetch the file with the header and save it.
  function artifactLink(a, label) {
    var link = el('a', '', label || a.key);
    link.href = a.url;
    link.dataset.key = a.key;
    link.addEventListener('click', function (e) {
      if (!state.token) return;
      e.preventDefault();
      fetch(a.url, { headers: headers() })
        .then(function (res) {
          if (!res.ok)
            return errorOf(a.key, res).then(function (err) {
              throw err;
            });
          return res.blob();
        })
        .then(function (blob) {
          var url = URL.createObjectURL(blob);
          var save = el('a');
          save.href = url;
          save.download = a.key.replace(/\//g, '_');
          document.body.appendChild(save);
          save.click();
          save.remove();
          setTimeout(function () {
            URL.revokeObjectURL(url);
          }, 10000);
        })
        .then(null, function (err) {
          notice(err.message);
        });
    });
    return link;
  }

  // ---- charts ------------------------------------------------------------------------

  function svgEl(name, attrs, parent) {
    var el = document.createElementNS(SVG_NS, name);
    Object.keys(attrs).forEach(function (k) {
      el.setAttribute(k, String(attrs[k]));
    });
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

  // series: [{ cls, points: [[x, value]], label?, color?, band? }]; o: { x0, x1, format, dots?, empty? }.
  // x runs from o.x0 to o.x1 (epochs: 1..n for per-epoch records, 0..n for steps within epochs).
  function drawChart(svg, series, o) {
    svg.textContent = '';
    var W = 520,
      H = svg.viewBox.baseVal.height || 280,
      L = 56,
      R = 14,
      T = 14,
      B = 36;
    var format = o.format;
    var values = [];
    series.forEach(function (s) {
      s.points.forEach(function (p) {
        values.push(p[1]);
      });
      (s.band || []).forEach(function (b) {
        if (isFinite(b[1]) && isFinite(b[2])) values.push(b[1], b[2]);
      });
    });
    if (!values.length) {
      svgEl('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, svg).textContent =
        o.empty || 'waiting for the first epoch\u2026';
      return;
    }
    var ticksY = niceTicks(Math.min.apply(null, values), Math.max.apply(null, values), 5);
    var y0 = ticksY[0],
      y1 = ticksY[ticksY.length - 1];
    if (y1 === y0) {
      y1 = y0 + 1;
    }
    var x0 = o.x0,
      x1 = Math.max(o.x1, x0 + 1);
    var x = function (e) {
      return L + ((W - L - R) * (e - x0)) / (x1 - x0);
    };
    var y = function (v) {
      return H - B - ((H - T - B) * (v - y0)) / (y1 - y0);
    };
    ticksY.forEach(function (t) {
      svgEl('line', { x1: L, x2: W - R, y1: y(t), y2: y(t), class: 'grid' }, svg);
      svgEl('text', { x: L - 6, y: y(t) + 4, 'text-anchor': 'end' }, svg).textContent = format(t);
    });
    niceTicks(x0, x1, Math.min(x1 - x0, 10)).forEach(function (e) {
      if (e < x0 || e !== Math.round(e)) return;
      svgEl('text', { x: x(e), y: H - B + 16, 'text-anchor': 'middle' }, svg).textContent = String(e);
    });
    svgEl('text', { x: (L + W - R) / 2, y: H - 4, 'text-anchor': 'middle' }, svg).textContent = 'epoch';
    svgEl('line', { x1: L, x2: L, y1: T, y2: H - B, class: 'axis' }, svg);
    svgEl('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, class: 'axis' }, svg);
    // Bands (mean ± std over seeds) first, so every line stays on top.
    series.forEach(function (s) {
      var band = (s.band || []).filter(function (b) {
        return isFinite(b[1]) && isFinite(b[2]);
      });
      if (band.length < 2) return;
      var edge = band
        .map(function (b) {
          return x(b[0]).toFixed(1) + ',' + y(b[2]).toFixed(1);
        })
        .concat(
          band
            .slice()
            .reverse()
            .map(function (b) {
              return x(b[0]).toFixed(1) + ',' + y(b[1]).toFixed(1);
            }),
        );
      svgEl('polygon', { points: edge.join(' '), class: 'band', 'data-series': s.label }, svg).style.fill = s.color;
    });
    series.forEach(function (s) {
      var pts = s.points
        .map(function (p) {
          return x(p[0]).toFixed(1) + ',' + y(p[1]).toFixed(1);
        })
        .join(' ');
      var line = svgEl('polyline', { points: pts, class: s.cls, 'data-series': s.label || s.cls }, svg);
      // Through the CSSOM: the stylesheet's class rules beat presentation attributes, and the
      // page's Content-Security-Policy refuses style attributes.
      if (s.color) line.style.stroke = s.color;
      if (o.dots === false) return;
      s.points.forEach(function (p) {
        var dot = svgEl('circle', { cx: x(p[0]), cy: y(p[1]), r: 3.5, class: s.cls, 'data-epoch': p[0] }, svg);
        if (s.color) dot.style.fill = s.color;
        dot.appendChild(document.createElementNS(SVG_NS, 'title')).textContent =
          (s.label || s.cls) + ' epoch ' + +p[0].toFixed(2) + ': ' + format(p[1]);
      });
    });
  }

  function epochsOf(id, recs) {
    var j = state.known[id];
    return j ? j.spec.epochs : recs.length ? recs[recs.length - 1].epoch : 1;
  }

  var lossFormat = function (v) {
    return v.toFixed(v < 1 ? 3 : 2);
  };
  var accFormat = function (v) {
    return (100 * v).toFixed(1) + '%';
  };

  // The selected run's train and test curves; with two runs ticked or more, their test curves overlaid instead.
  function redraw() {
    var comparing = state.compare.length >= 2;
    var recs = recordsOf(state.selected);
    var lossSeries, accSeries, epochs;
    if (comparing) {
      var runs = state.compare.map(function (id) {
        return { id: id, recs: recordsOf(id) };
      });
      epochs = Math.max.apply(
        null,
        runs.map(function (r) {
          return epochsOf(r.id, r.recs);
        }),
      );
      var overlay = function (f) {
        return runs.map(function (r) {
          var points = r.recs.map(function (x) {
            return [x.epoch, f(x)];
          });
          return { cls: 'run', color: state.colours[r.id], label: runLabel(r.id), points: points };
        });
      };
      lossSeries = overlay(function (r) {
        return r.testLoss;
      });
      accSeries = overlay(function (r) {
        return r.testAcc;
      });
    } else {
      epochs = epochsOf(state.selected, recs);
      var pick = function (f) {
        return recs.map(function (r) {
          return [r.epoch, f(r)];
        });
      };
      var trainTest = function (train, test) {
        return [
          { cls: 'train', points: pick(train) },
          { cls: 'test', points: pick(test) },
        ];
      };
      lossSeries = trainTest(
        function (r) {
          return r.trainLoss;
        },
        function (r) {
          return r.testLoss;
        },
      );
      accSeries = trainTest(
        function (r) {
          return r.trainAcc;
        },
        function (r) {
          return r.testAcc;
        },
      );
    }
    $('#loss-title').textContent = comparing ? 'Test loss, ' + state.compare.length + ' runs' : 'Loss';
    $('#acc-title').textContent = comparing ? 'Test accuracy, ' + state.compare.length + ' runs' : 'Accuracy';
    $('#loss-key').hidden = $('#acc-key').hidden = comparing;
    renderCompareLegend(comparing);
    drawChart($('#loss-chart'), lossSeries, { x0: 1, x1: epochs, format: lossFormat });
    drawChart($('#acc-chart'), accSeries, { x0: 1, x1: epochs, format: accFormat });
    drawSteps();
    var body = $('#epochs tbody');
    body.textContent = '';
    recs.forEach(function (r) {
      var tr = el('tr');
      [
        String(r.epoch),
        r.trainLoss.toFixed(4),
        pct(r.trainAcc),
        r.testLoss.toFixed(4),
        pct(r.testAcc),
        Math.round(r.imagesPerSec).toLocaleString(),
      ].forEach(function (t) {
        cell(tr, t);
      });
      body.appendChild(tr);
    });
  }

  // Training loss at each progress event (about one a second), on an axis of epochs.
  function drawSteps() {
    var recs = recordsOf(state.selected);
    drawChart($('#step-chart'), [{ cls: 'step', label: 'train loss', points: state.steps }], {
      // A run of a few fast epochs may have only a point or two: those get dots, a line of one point shows nothing.
      x0: 0,
      x1: epochsOf(state.selected, recs),
      format: lossFormat,
      dots: state.steps.length < 3,
      empty: FINAL[state.jobState] ? 'no per-step loss in this run\u2019s events' : 'waiting for the first steps\u2026',
    });
    $('#step-chart').dataset.points = String(state.steps.length);
  }

  // ---- start -------------------------------------------------------------------------

  $('#auth').addEventListener('submit', function (e) {
    e.preventDefault();
    state.token = $('#token').value.trim();
    $('#token').value = '';
    if (state.token) sessionStorage.setItem(TOKEN_KEY, state.token);
    else sessionStorage.removeItem(TOKEN_KEY);
    if (state.selected) {
      var id = state.selected;
      state.selected = null;
      select(id);
    }
    poll();
  });
  $('#forget').addEventListener('click', function () {
    state.token = '';
    sessionStorage.removeItem(TOKEN_KEY);
    [state.follow, state.logs].forEach(function (f) {
      if (f) f.abort.abort();
    });
    state.follow = state.logs = null;
    notice('token forgotten');
  });
  $('#filters').addEventListener('submit', function (e) {
    e.preventDefault();
    readFilters();
  });
  ['#f-state', '#f-model', '#f-tag', '#f-sweep'].forEach(function (sel) {
    $(sel).addEventListener('change', readFilters);
  });
  $('#page-size').addEventListener('change', function () {
    state.page.size = Number($('#page-size').value);
    firstPage();
    poll();
  });
  var turnPage = function (step) {
    if (state.page.loading || (step < 0 ? state.page.index === 0 : !state.page.next)) return;
    if (step > 0) state.page.cursors[state.page.index + 1] = state.page.next;
    state.page.index += step;
    state.page.loading = true;
    $('#page-prev').disabled = $('#page-next').disabled = true;
    poll();
  };
  $('#page-prev').addEventListener('click', function () {
    turnPage(-1);
  });
  $('#page-next').addEventListener('click', function () {
    turnPage(1);
  });
  renderModelFilter();
  poll();
})();
