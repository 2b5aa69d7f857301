/*
 * tempo: live line charts of the numeric fields of JSON messages on Redis pub/sub channels, fed by
 * the redstack gateway over WebSocket (/ws). One card per channel, one small chart per field; the
 * rate per channel in each card's corner. Reconnects by itself; where the gateway keeps history
 * (messages carry ids), a new card is back-filled and a reconnect gap is filled from /history.
 *
 * Plain browser JavaScript, no build step; uPlot is loaded before this file.
 */
(function () {
  'use strict';

  const PALETTE = ['#38bdf8', '#a78bfa', '#f472b6', '#fb923c', '#4ade80', '#facc15', '#f87171', '#2dd4bf', '#c084fc', '#60a5fa'];
  const KEEP_SEC = 900; // data kept per card: the largest window
  const MAX_POINTS = 20000; // per card, for fast channels
  const MAX_FIELDS = 12;
  const RENDER_MS = 200;

  // ---- state, from the URL so a view can be shared --------------------------------------------
  const params = new URLSearchParams(location.search);
  const state = {
    channels: new Set(params.getAll('channel')),
    patterns: new Set(params.getAll('pattern')),
    hidden: new Set(params.getAll('hide')),
    refused: new Set(),
    windowSec: [30, 60, 300, 900].includes(Number(params.get('window'))) ? Number(params.get('window')) : 60,
    paused: false,
  };
  if (state.channels.size === 0 && state.patterns.size === 0) state.patterns.add('stats.*');
  const token = params.get('token');

  const $ = (id) => document.getElementById(id);
  const cards = new Map();
  let totalArrivals = [];

  function saveUrl() {
    const p = new URLSearchParams();
    for (const c of state.channels) p.append('channel', c);
    for (const c of state.patterns) p.append('pattern', c);
    for (const c of state.hidden) p.append('hide', c);
    if (state.windowSec !== 60) p.set('window', String(state.windowSec));
    if (token) p.set('token', token);
    const q = p.toString();
    history.replaceState(null, '', q ? '?' + q : location.pathname);
  }

  const isPattern = (s) => /[*?[]/.test(s);

  // ---- formatting --------------------------------------------------------------------------------
  const nf2 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
  const nf1 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
  const nf0 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
  function fmt(v) {
    if (v === null || v === undefined || Number.isNaN(v)) return '–';
    const a = Math.abs(v);
    if (a >= 1e9) return nf2.format(v / 1e9) + 'G';
    if (a >= 1e6) return nf2.format(v / 1e6) + 'M';
    if (a >= 1e4) return nf1.format(v / 1e3) + 'k';
    if (a >= 100) return nf0.format(v);
    if (a >= 10) return nf1.format(v);
    return nf2.format(v);
  }
  function unitOf(field) {
    const m = /_(ms|us|s|mb|kb|gb|pct|bytes)$/i.exec(field);
    if (!m) return { label: field.replace(/_/g, ' '), unit: '' };
    const unit = { ms: 'ms', us: 'µs', s: 's', mb: 'MB', kb: 'KB', gb: 'GB', pct: '%', bytes: 'B' }[m[1].toLowerCase()];
    return { label: field.slice(0, m.index).replace(/_/g, ' '), unit };
  }
  function clock(t) {
    return new Date(t * 1000).toLocaleTimeString(undefined, { hour12: false });
  }

  /** Numeric fields of a JSON value, one level of nesting flattened (a.b). */
  function numericFields(obj) {
    const out = new Map();
    if (typeof obj === 'number' && Number.isFinite(obj)) {
      out.set('value', obj);
      return out;
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return out;
    for (const [k, v] of Object.entries(obj)) {
      if (k === 'ts' || k === 'time' || k === 'timestamp') continue;
      if (typeof v === 'number' && Number.isFinite(v)) out.set(k, v);
      else if (v && typeof v === 'object' && !Array.isArray(v)) {
        for (const [k2, v2] of Object.entries(v)) if (typeof v2 === 'number' && Number.isFinite(v2)) out.set(k + '.' + k2, v2);
      }
    }
    return out;
  }

  /** Seconds since the epoch for a message: its own ts/time field when plausible, else now. */
  function timeOf(obj) {
    const raw = obj && typeof obj === 'object' ? obj.ts ?? obj.time ?? obj.timestamp : undefined;
    if (typeof raw === 'number' && Number.isFinite(raw)) {
      const s = raw > 1e11 ? raw / 1000 : raw;
      if (Math.abs(s - Date.now() / 1000) < 86400) return s;
    }
    return Date.now() / 1000;
  }

  // ---- a card: one channel ------------------------------------------------------------------------
  class Card {
    constructor(name, via) {
      this.name = name;
      this.via = via; // the pattern it came through, or null for a channel subscription
      this.times = [];
      this.series = new Map(); // field -> { values, color, chart, valueEl, atEl, unit }
      this.rateMode = false; // no numeric fields: chart messages/s instead
      this.arrivals = [];
      this.count = 0;
      this.lastId = null;
      this.firstLiveId = null;
      this.dirty = true;
      this.hovering = false;
      this.colorIndex = 0;
      this.build();
    }

    build() {
      const el = document.createElement('article');
      el.className = 'card';
      el.dataset.channel = this.name;
      el.innerHTML =
        '<div class="card-head"><span class="title"></span><span class="via"></span>' +
        '<span class="rate"><b>0</b> msg/s</span><button class="hide" title="Hide this channel">hide</button></div>' +
        '<div class="rows"></div><div class="last"></div>';
      el.querySelector('.title').textContent = this.name;
      el.querySelector('.via').textContent = this.via ? 'via ' + this.via : '';
      el.querySelector('.hide').addEventListener('click', () => {
        state.hidden.add(this.name);
        this.el.hidden = true;
        renderHidden();
        saveUrl();
      });
      this.el = el;
      this.rowsEl = el.querySelector('.rows');
      this.rateEl = el.querySelector('.rate');
      this.lastEl = el.querySelector('.last');
      this.el.hidden = state.hidden.has(this.name);
      placeCard(this);
    }

    addField(field) {
      const color = PALETTE[this.colorIndex++ % PALETTE.length];
      const { label, unit } = unitOf(field);
      const row = document.createElement('div');
      row.className = 'row';
      row.innerHTML =
        '<div class="stat"><div class="label"><span class="swatch"></span><span class="name"></span></div>' +
        '<div><span class="value">–</span><span class="unit"></span></div><div class="at"></div></div><div class="chart"></div>';
      row.querySelector('.swatch').style.background = color;
      row.querySelector('.name').textContent = label;
      row.querySelector('.unit').textContent = unit;
      this.rowsEl.appendChild(row);
      const values = new Array(this.times.length).fill(null);
      const s = { field, values, color, unit, valueEl: row.querySelector('.value'), atEl: row.querySelector('.at'), chart: null };
      s.chart = makeChart(row.querySelector('.chart'), this, s);
      this.series.set(field, s);
      return s;
    }

    ingest(m) {
      this.count++;
      this.arrivals.push(performance.now());
      if (m.id) {
        if (this.lastId && compareIds(m.id, this.lastId) <= 0) return; // already have it (history + live)
        if (this.awaitingFirst) {
          this.firstAfter = m.id;
          this.awaitingFirst = false;
        }
        this.lastId = m.id;
        if (!this.firstLiveId) this.firstLiveId = m.id;
      }
      let obj;
      try {
        obj = JSON.parse(m.data);
      } catch {
        obj = undefined;
      }
      this.lastEl.textContent = m.data.length > 300 ? m.data.slice(0, 300) + '…' : m.data;
      this.append(timeOf(obj), numericFields(obj));
      this.dirty = true;
    }

    append(t, nums) {
      if (nums.size === 0 && this.series.size === 0) this.rateMode = true;
      if (this.rateMode) {
        // One point per whole second: the messages that arrived in it.
        const sec = Math.floor(Date.now() / 1000);
        const s = this.series.get('messages/s') || this.addField('messages/s');
        if (this.times.length && this.times[this.times.length - 1] === sec) s.values[s.values.length - 1]++;
        else {
          this.times.push(sec);
          s.values.push(1);
        }
        return;
      }
      const last = this.times.length ? this.times[this.times.length - 1] : -Infinity;
      if (t <= last) t = last + 1e-6; // uPlot needs increasing x
      for (const f of nums.keys()) if (!this.series.has(f) && this.series.size < MAX_FIELDS) this.addField(f);
      this.times.push(t);
      for (const [f, s] of this.series) s.values.push(nums.has(f) ? nums.get(f) : null);
      this.trim();
    }

    /** A break in every line (uPlot draws null as a gap): the page missed messages here. */
    gap() {
      if (this.times.length === 0 || this.rateMode) return;
      const t = Math.max(Date.now() / 1000, this.times[this.times.length - 1] + 1e-6);
      this.times.push(t);
      for (const s of this.series.values()) s.values.push(null);
      this.dirty = true;
    }

    /** Inserts history entries (older, or filling a gap) in time order, skipping ones already held. */
    merge(entries) {
      if (entries.length === 0) return;
      const rows = [];
      for (let i = 0; i < this.times.length; i++) {
        const r = { t: this.times[i], v: new Map() };
        for (const [f, s] of this.series) if (s.values[i] !== null) r.v.set(f, s.values[i]);
        rows.push(r);
      }
      let added = 0;
      for (const e of entries) {
        let obj;
        try {
          obj = JSON.parse(e.data);
        } catch {
          continue;
        }
        const nums = numericFields(obj);
        if (nums.size === 0) continue;
        rows.push({ t: timeOf(obj), v: nums });
        added++;
      }
      if (!added) return;
      rows.sort((a, b) => a.t - b.t);
      for (const r of rows) for (const f of r.v.keys()) if (!this.series.has(f) && this.series.size < MAX_FIELDS) this.addField(f);
      this.times = rows.map((r) => r.t);
      for (const [f, s] of this.series) s.values = rows.map((r) => (r.v.has(f) ? r.v.get(f) : null));
      this.trim();
      this.dirty = true;
    }

    trim() {
      const horizon = Date.now() / 1000 - KEEP_SEC - 5;
      let cut = 0;
      if (this.times.length > MAX_POINTS) cut = this.times.length - MAX_POINTS;
      if (this.times[cut] < horizon) while (cut < this.times.length && this.times[cut] < horizon) cut++;
      if (cut < 64 && this.times.length <= MAX_POINTS) return; // amortise: cut in blocks
      this.times = this.times.slice(cut);
      for (const s of this.series.values()) s.values = s.values.slice(cut);
    }

    rate() {
      const now = performance.now();
      while (this.arrivals.length && this.arrivals[0] < now - 5000) this.arrivals.shift();
      return this.arrivals.length / 5;
    }

    render(now) {
      const r = this.rate();
      this.rateEl.innerHTML = '<b>' + fmt(r) + '</b> msg/s';
      this.rateEl.classList.toggle('stale', r === 0 && this.count > 0);
      if (this.el.hidden) return;
      const max = Math.max(now, this.times.length ? this.times[this.times.length - 1] : now);
      const min = max - state.windowSec;
      for (const s of this.series.values()) {
        s.chart.batch(() => {
          if (this.dirty) s.chart.setData([this.times, s.values], false);
          s.chart.setScale('x', { min, max });
        });
        if (!this.hovering) {
          let v = null;
          for (let i = s.values.length - 1; i >= 0 && v === null; i--) v = s.values[i];
          s.valueEl.textContent = fmt(v);
          s.atEl.textContent = '';
        }
      }
      this.dirty = false;
    }

    remove() {
      for (const s of this.series.values()) s.chart.destroy();
      this.el.remove();
      cards.delete(this.name);
    }
  }

  function makeChart(container, card, s) {
    const width = Math.max(200, container.clientWidth || 340);
    const opts = {
      width,
      height: 92,
      padding: [8, 6, 0, 0],
      legend: { show: false },
      cursor: {
        sync: { key: 'card:' + card.name },
        drag: { x: false, y: false },
        points: { size: 7, fill: s.color },
        y: false,
      },
      scales: { x: { time: true }, y: { range: (u, lo, hi) => yRange(lo, hi) } },
      axes: [
        { stroke: '#6f7d9c', grid: { stroke: 'rgba(138,151,180,0.08)', width: 1 }, ticks: { show: false }, font: '11px system-ui', space: 70, size: 22 },
        { stroke: '#6f7d9c', grid: { stroke: 'rgba(138,151,180,0.08)', width: 1 }, ticks: { show: false }, font: '11px system-ui', size: 46, values: (u, vals) => vals.map(fmt) },
      ],
      series: [
        {},
        {
          stroke: s.color,
          width: 2,
          points: { show: false },
          fill: (u) => {
            const g = u.ctx.createLinearGradient(0, u.bbox.top, 0, u.bbox.top + u.bbox.height);
            g.addColorStop(0, s.color + '55');
            g.addColorStop(1, s.color + '00');
            return g;
          },
        },
      ],
      hooks: {
        setCursor: [
          (u) => {
            const i = u.cursor.idx;
            card.hovering = i !== null && i !== undefined;
            if (!card.hovering) return;
            s.valueEl.textContent = fmt(s.values[i]);
            s.atEl.textContent = clock(card.times[i]);
          },
        ],
      },
    };
    const chart = new uPlot(opts, [card.times, s.values], container);
    new ResizeObserver(() => {
      const w = container.clientWidth;
      if (w > 0 && Math.abs(w - chart.width) > 2) chart.setSize({ width: w, height: 92 });
    }).observe(container);
    return chart;
  }

  /** A y range with some headroom that starts at 0 for non-negative data (easier to read). */
  function yRange(lo, hi) {
    if (lo === null || hi === null) return [0, 1];
    if (lo === hi) return lo === 0 ? [0, 1] : [Math.min(0, lo * 0.9), hi * 1.1];
    const pad = (hi - lo) * 0.12;
    return [lo >= 0 ? 0 : lo - pad, hi + pad];
  }

  function compareIds(a, b) {
    const [am, as] = a.split('-').map(Number);
    const [bm, bs] = b.split('-').map(Number);
    return am !== bm ? am - bm : as - bs;
  }

  /** Cards in name order. */
  function placeCard(card) {
    const grid = $('grid');
    const after = [...grid.querySelectorAll('.card')].find((el) => el.dataset.channel > card.name);
    grid.insertBefore(card.el, after || null);
    $('empty').hidden = true;
  }

  function cardFor(m) {
    let c = cards.get(m.channel);
    if (!c) {
      c = new Card(m.channel, m.pattern || null);
      cards.set(m.channel, c);
      if (m.id) backfill(c, m.id);
    }
    return c;
  }

  // ---- history over HTTP -----------------------------------------------------------------------------
  async function fetchHistory(channel, since) {
    const q = new URLSearchParams({ since, limit: '2000' });
    if (token) q.set('token', token);
    const res = await fetch('/history/' + encodeURIComponent(channel) + '?' + q);
    if (!res.ok) return [];
    const body = await res.json();
    return Array.isArray(body.entries) ? body.entries : [];
  }

  /** A new card whose messages have ids: fill the window from history. */
  async function backfill(card, firstId) {
    const since = Math.floor(Date.now() - KEEP_SEC * 1000) + '-0';
    try {
      const entries = (await fetchHistory(card.name, since)).filter((e) => compareIds(e.id, firstId) < 0);
      card.merge(entries);
    } catch {
      /* history is a bonus */
    }
  }

  /**
   * After a reconnect: what the card missed, from history. Entries from the first live message after
   * the reconnect on are already on the chart; the rest fill the gap.
   */
  async function fillGap(card, fromId) {
    card.awaitingFirst = true;
    card.firstAfter = null;
    try {
      const entries = await fetchHistory(card.name, fromId);
      const cutoff = card.firstAfter;
      const keep = entries.filter((e) => !cutoff || compareIds(e.id, cutoff) < 0);
      card.merge(keep);
      for (const e of keep) if (!card.lastId || compareIds(e.id, card.lastId) > 0) card.lastId = e.id;
    } catch {
      /* the gap stays visible */
    }
    card.awaitingFirst = false;
  }

  // ---- the connection ----------------------------------------------------------------------------------
  let ws = null;
  let retryMs = 500;
  let nextId = 1;
  let everOpen = false;
  const requests = new Map();
  let lastIdsAtDrop = null;

  function setStatus(kind, text) {
    $('status').dataset.state = state.paused && kind === 'live' ? 'paused' : kind;
    $('status-text').textContent = state.paused && kind === 'live' ? 'paused' : text;
  }

  function request(frame, meta) {
    const id = nextId++;
    requests.set(id, meta);
    if (ws && ws.readyState === 1) ws.send(JSON.stringify({ ...frame, id }));
  }

  function subscribeAll() {
    if (state.channels.size) request({ type: 'subscribe', channels: [...state.channels] }, { kind: 'channel', names: [...state.channels] });
    if (state.patterns.size) request({ type: 'psubscribe', patterns: [...state.patterns] }, { kind: 'pattern', names: [...state.patterns] });
  }

  function connect() {
    setStatus('connecting', 'connecting…');
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws' + (token ? '?token=' + encodeURIComponent(token) : '');
    let sock;
    try {
      sock = new WebSocket(url);
    } catch {
      scheduleReconnect();
      return;
    }
    ws = sock;
    sock.onopen = () => {
      retryMs = 500;
      setStatus('live', 'live');
      subscribeAll();
      if (everOpen) {
        toast('Reconnected to the gateway', 'ok');
        if (lastIdsAtDrop) for (const [name, id] of lastIdsAtDrop) if (cards.has(name)) fillGap(cards.get(name), id);
      }
      lastIdsAtDrop = null;
      everOpen = true;
    };
    sock.onmessage = (ev) => {
      const lines = String(ev.data).split('\n');
      for (const line of lines) {
        let m;
        try {
          m = JSON.parse(line);
        } catch {
          continue;
        }
        onServerMessage(m);
      }
    };
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      ws = null;
      if (!lastIdsAtDrop) {
        lastIdsAtDrop = new Map();
        for (const c of cards.values()) {
          c.gap();
          if (c.lastId) lastIdsAtDrop.set(c.name, c.lastId);
        }
      }
      if (ev.code === 4001 || ev.code === 4003) retryMs = Math.max(retryMs, 8000);
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    const delay = Math.round(retryMs * (0.75 + Math.random() * 0.5));
    setStatus('down', 'reconnecting in ' + Math.max(1, Math.round(delay / 1000)) + 's');
    retryMs = Math.min(retryMs * 2, 10000);
    setTimeout(connect, delay);
  }

  function onServerMessage(m) {
    switch (m.type) {
      case 'message':
        totalArrivals.push(performance.now());
        cardFor(m).ingest(m);
        break;
      case 'ack': {
        const meta = requests.get(m.id);
        requests.delete(m.id);
        if (meta) for (const n of meta.names) state.refused.delete(n);
        renderChips();
        break;
      }
      case 'error': {
        const meta = m.id !== undefined ? requests.get(m.id) : undefined;
        if (meta) requests.delete(m.id);
        if (m.code === 'forbidden' && meta) {
          for (const n of m.names || meta.names) state.refused.add(n);
          renderChips();
          toast('Not allowed to watch ' + (m.names || meta.names).join(', '), 'bad');
        } else if (m.code === 'unauthorized') {
          toast('The gateway refused the token: ' + m.message, 'bad');
        } else {
          toast('Gateway: ' + m.message + ' (' + m.code + ')', 'bad');
        }
        break;
      }
      case 'lagged': {
        const affected = [];
        for (const c of cards.values()) {
          const hit = m.reason === 'slow_consumer' || (m.channels || []).includes(c.name) || (m.patterns || []).includes(c.via);
          if (hit) {
            c.gap();
            affected.push(c);
          }
        }
        if (m.reason === 'slow_consumer') toast('This page fell behind: ' + fmt(m.dropped || 0) + ' messages were skipped');
        else if (m.reason === 'redis_reconnect') {
          toast('The gateway lost Redis for a moment; the gap is marked');
          for (const c of affected) if (c.lastId) fillGap(c, c.lastId);
        } else toast('Part of the history was no longer available');
        break;
      }
      default:
        break; // hello, pong
    }
  }

  // ---- controls -------------------------------------------------------------------------------------------
  function renderChips() {
    const box = $('chips');
    box.textContent = '';
    const all = [...[...state.patterns].map((n) => [n, 'pattern']), ...[...state.channels].map((n) => [n, 'channel'])];
    for (const [name, kind] of all) {
      const chip = document.createElement('span');
      chip.className = 'chip ' + kind + (state.refused.has(name) ? ' refused' : '');
      chip.title = state.refused.has(name) ? 'refused by the gateway' : kind === 'pattern' ? 'every channel matching this pattern' : 'one channel';
      const label = document.createElement('span');
      label.textContent = name;
      const x = document.createElement('button');
      x.textContent = '×';
      x.title = 'Stop watching';
      x.addEventListener('click', () => unwatch(name, kind));
      chip.append(label, x);
      box.appendChild(chip);
    }
    $('empty-subs').textContent = all.map((a) => a[0]).join(', ') || 'nothing';
  }

  function watch(name) {
    name = name.trim();
    if (!name) return;
    if (isPattern(name)) {
      if (state.patterns.has(name)) return;
      state.patterns.add(name);
      request({ type: 'psubscribe', patterns: [name] }, { kind: 'pattern', names: [name] });
    } else {
      if (state.channels.has(name)) return;
      state.channels.add(name);
      request({ type: 'subscribe', channels: [name] }, { kind: 'channel', names: [name] });
    }
    renderChips();
    saveUrl();
  }

  function unwatch(name, kind) {
    if (kind === 'pattern') {
      state.patterns.delete(name);
      request({ type: 'punsubscribe', patterns: [name] }, { kind, names: [name] });
      for (const c of [...cards.values()]) if (c.via === name && !state.channels.has(c.name)) c.remove();
    } else {
      state.channels.delete(name);
      request({ type: 'unsubscribe', channels: [name] }, { kind, names: [name] });
      const c = cards.get(name);
      if (c && !c.via) c.remove();
    }
    state.refused.delete(name);
    renderChips();
    saveUrl();
    if (cards.size === 0) $('empty').hidden = false;
  }

  function renderHidden() {
    const row = $('hidden-row');
    const list = $('hidden-list');
    list.textContent = '';
    for (const name of state.hidden) {
      const b = document.createElement('button');
      b.textContent = name + ' ↺';
      b.title = 'Show again';
      b.addEventListener('click', () => {
        state.hidden.delete(name);
        const c = cards.get(name);
        if (c) {
          c.el.hidden = false;
          c.dirty = true;
        }
        renderHidden();
        saveUrl();
      });
      list.appendChild(b);
    }
    row.hidden = state.hidden.size === 0;
  }

  function renderWindow() {
    for (const b of $('window').querySelectorAll('button')) b.classList.toggle('on', Number(b.dataset.sec) === state.windowSec);
  }

  let toastCount = 0;
  function toast(text, kind) {
    const box = $('toasts');
    if (toastCount >= 4) box.firstChild && box.firstChild.remove();
    const t = document.createElement('div');
    t.className = 'toast' + (kind ? ' ' + kind : '');
    t.textContent = text;
    box.appendChild(t);
    toastCount = box.children.length;
    setTimeout(() => {
      t.remove();
      toastCount = box.children.length;
    }, 5000);
  }

  $('add-form').addEventListener('submit', (e) => {
    e.preventDefault();
    watch($('add-input').value);
    $('add-input').value = '';
  });
  $('window').addEventListener('click', (e) => {
    const sec = Number(e.target && e.target.dataset && e.target.dataset.sec);
    if (!sec) return;
    state.windowSec = sec;
    renderWindow();
    for (const c of cards.values()) c.dirty = true;
    saveUrl();
    if (!state.paused) render();
  });
  $('pause').addEventListener('click', () => {
    state.paused = !state.paused;
    $('pause').setAttribute('aria-pressed', String(state.paused));
    $('pause').querySelector('.label').textContent = state.paused ? 'Resume' : 'Pause';
    if (ws && ws.readyState === 1) setStatus('live', 'live');
    if (!state.paused) for (const c of cards.values()) c.dirty = true;
  });

  // ---- the render loop --------------------------------------------------------------------------------------
  function render() {
    const nowMs = performance.now();
    totalArrivals = totalArrivals.filter((t) => t > nowMs - 5000);
    $('total-rate').textContent = fmt(totalArrivals.length / 5);
    const now = Date.now() / 1000;
    for (const c of cards.values()) {
      if (state.paused) {
        const r = c.rate();
        c.rateEl.innerHTML = '<b>' + fmt(r) + '</b> msg/s';
      } else c.render(now);
    }
  }
  setInterval(render, RENDER_MS);

  // For tests and the curious: window.tempo.points('stats.router') is the number of points held.
  window.tempo = {
    channels: () => [...cards.keys()],
    points: (name) => (cards.has(name) ? cards.get(name).times.length : 0),
    fields: (name) => (cards.has(name) ? [...cards.get(name).series.keys()] : []),
    state,
  };

  renderChips();
  renderHidden();
  renderWindow();
  connect();
})();
