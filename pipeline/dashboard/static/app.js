// iwom dashboard. Plain script (no modules, no eval, no inline handlers:
// the page's CSP is script-src 'self'). Everything shown comes from the
// report API (/v1/brands, /v1/reports/<name>) and the alert stream
// (/v1/alerts/stream, server-sent events read with fetch()).
/* global echarts */
'use strict';
(function () {
  const TZ = 'Asia/Shanghai';
  const TZ_OFFSET_MS = 8 * 3600e3; // Asia/Shanghai has no DST
  const FONT = '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif';
  const PALETTE = ['#2563eb', '#e8590c', '#7c3aed', '#0d9488', '#db2777', '#ca8a04', '#0891b2',
    '#65a30d', '#9333ea', '#dc2626', '#4f46e5', '#059669', '#b45309', '#475569'];
  const SENT_COLORS = { positive: '#2f9e44', neutral: '#adb5bd', negative: '#e03131' };
  const SENT_LABEL = { positive: '正面', neutral: '中性', negative: '负面' };
  const RISING_COLOR = '#e8590c';
  const STEADY_COLORS = ['#1f3a5f', '#2b5c8a', '#3f6e9e', '#4a6fa5', '#56657a'];
  const RANGES = {
    '1h': { label: '1小时', ms: 3600e3, interval: '5m' },
    '24h': { label: '24小时', ms: 86400e3, interval: 'hour' },
    '7d': { label: '7天', ms: 7 * 86400e3, interval: 'hour' },
    custom: { label: '自定义' },
  };
  const INTERVAL_MS = { '5m': 300e3, '15m': 900e3, hour: 3600e3, day: 86400e3 };
  const INTERVAL_LABEL = { '5m': '5分钟', '15m': '15分钟', hour: '1小时', day: '1天' };
  const PLATFORM_LABEL = { weibo: '微博', wechat: '微信' };
  const KIND_LABEL = {
    negative_spike: '负面激增', volume_spike: '声量激增', negative_ratio: '负面占比',
    keyword: '危机关键词', crisis_keywords: '危机关键词', kol: 'KOL 发帖', kol_post: 'KOL 发帖',
  };
  const STATE_LABEL = { firing: '触发', update: '更新', resolved: '解除', digest: '摘要' };
  const REFRESH = { volume: 30e3, sentiment: 30e3, sov: 30e3, words: 60e3, kols: 60e3, posts: 60e3 };
  const TOKEN_KEY = 'iwom.token';

  // ---------- small helpers ----------
  const $ = (sel, root) => (root || document).querySelector(sel);
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v == null || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = v;
        else if (k === 'style') el.style.cssText = v;
        else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children.flat()) {
      if (c == null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  function trimZero(s) { return s.replace(/\.0+$/, '').replace(/(\.\d*?)0+$/, '$1'); }
  function fmtNum(n) {
    if (n == null || Number.isNaN(+n)) return '–';
    n = +n;
    const a = Math.abs(n);
    if (a >= 1e8) return trimZero((n / 1e8).toFixed(a >= 1e10 ? 0 : 2)) + '亿';
    if (a >= 1e4) return trimZero((n / 1e4).toFixed(a >= 1e6 ? 0 : 1)) + '万';
    if (Number.isInteger(n)) return n.toLocaleString('zh-CN');
    return trimZero(n.toFixed(a >= 10 ? 1 : 2));
  }
  function fmtPct(x, digits) { return x == null ? '–' : trimZero((x * 100).toFixed(digits == null ? 0 : digits)) + '%'; }
  function fmtSigned(x) { return x == null ? '–' : (x > 0 ? '+' : '') + trimZero(x.toFixed(2)); }
  const p2 = (n) => String(n).padStart(2, '0');
  function sh(ms) {
    const d = new Date(ms + TZ_OFFSET_MS);
    return { Y: d.getUTCFullYear(), M: p2(d.getUTCMonth() + 1), D: p2(d.getUTCDate()), h: p2(d.getUTCHours()), m: p2(d.getUTCMinutes()), s: p2(d.getUTCSeconds()) };
  }
  const toMs = (v) => (typeof v === 'number' ? v : Date.parse(v));
  function fmtClock(v) { const t = sh(toMs(v)); return `${t.h}:${t.m}:${t.s}`; }
  function fmtHM(v) { const t = sh(toMs(v)); return `${t.h}:${t.m}`; }
  function fmtShort(v) { const t = sh(toMs(v)); return `${t.M}-${t.D} ${t.h}:${t.m}`; }
  function rfc3339(ms) { const t = sh(ms); return `${t.Y}-${t.M}-${t.D}T${t.h}:${t.m}:${t.s}+08:00`; }
  function localInput(ms) { const t = sh(ms); return `${t.Y}-${t.M}-${t.D}T${t.h}:${t.m}`; }
  // A from/to value from the hash or a datetime-local input, as RFC 3339
  // (wall times without an offset are Beijing time).
  function normTime(v) {
    if (!v) return '';
    v = String(v).trim().replace(' ', '+'); // "+08:00" decoded as a space
    if (/^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(v)) v += ':00+08:00';
    else if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(v)) v += '+08:00';
    return Number.isNaN(Date.parse(v)) ? '' : v;
  }
  function hashColor(s) {
    let x = 2166136261;
    for (let i = 0; i < s.length; i++) { x ^= s.charCodeAt(i); x = Math.imul(x, 16777619); }
    return `hsl(${(x >>> 0) % 360}, 62%, 48%)`;
  }
  function shortHash(s) {
    let x = 5381;
    for (let i = 0; i < s.length; i++) x = (Math.imul(x, 33) + s.charCodeAt(i)) >>> 0;
    return x.toString(36).slice(-4).toUpperCase();
  }
  function abortError() { return new DOMException('aborted', 'AbortError'); }

  // ---------- state ----------
  const S = {
    brands: [], // [{id,name,aliases}] from /v1/brands
    brandIdx: new Map(),
    platforms: ['weibo', 'wechat'],
    sel: { brands: [], platform: '', range: '24h', from: '', to: '' },
    focus: '',
    postsFilter: null, // {term} | {from, to, label}
  };
  function brandName(id) { const b = S.brandIdx.get(id); return b ? b.name : id; }
  // Selected brands get the palette in selection order (distinct colours
  // in every view); others a stable colour of their own.
  function brandColor(id) {
    const i = S.sel.brands.indexOf(id);
    if (i >= 0) return PALETTE[i % PALETTE.length];
    return hashColor(id);
  }
  function currentWindow() {
    const sel = S.sel;
    if (sel.range === 'custom') {
      const span = Date.parse(sel.to) - Date.parse(sel.from);
      let interval = 'day';
      for (const iv of ['5m', '15m', 'hour']) if (span / INTERVAL_MS[iv] <= 200) { interval = iv; break; }
      return { from: sel.from, to: sel.to, interval, span };
    }
    const r = RANGES[sel.range];
    return { since: sel.range, interval: r.interval, span: r.ms };
  }
  // Query parameters shared by every report: brand…, platform, since or
  // from/to, [interval], tz, then the report's own.
  function reportURL(name, o) {
    o = o || {};
    const p = new URLSearchParams();
    for (const b of o.brands || S.sel.brands) p.append('brand', b);
    if (S.sel.platform) p.set('platform', S.sel.platform);
    const w = currentWindow();
    if (o.window) { p.set('from', o.window.from); p.set('to', o.window.to); } else if (w.since) p.set('since', w.since);
    else { p.set('from', w.from); p.set('to', w.to); }
    if (o.interval) p.set('interval', w.interval);
    p.set('tz', TZ);
    for (const [k, v] of Object.entries(o.extra || {})) p.set(k, v);
    return `/v1/reports/${name}?${p}`;
  }

  // ---------- token & API ----------
  function getToken() { try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; } }
  let tokenWaiters = [];
  function needToken(signal, usedToken) {
    const cur = getToken();
    if (cur && cur !== usedToken) return Promise.resolve(); // someone already entered a new one
    const form = $('.token-form');
    form.hidden = false;
    $('.token-msg', form).textContent = usedToken ? '令牌无效，请重新输入' : '';
    $('input', form).focus();
    return new Promise((resolve, reject) => {
      const w = { resolve, reject };
      tokenWaiters.push(w);
      if (signal) signal.addEventListener('abort', () => { tokenWaiters = tokenWaiters.filter((x) => x !== w); reject(abortError()); }, { once: true });
    });
  }
  function initTokenForm() {
    const form = $('.token-form');
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const v = form.elements.token.value.trim();
      if (!v) return;
      try { sessionStorage.setItem(TOKEN_KEY, v); } catch (e) { /* private mode: keep for this request only */ }
      form.hidden = true;
      form.elements.token.value = '';
      const ws = tokenWaiters; tokenWaiters = [];
      ws.forEach((w) => w.resolve());
    });
  }
  function authHeaders(extra) {
    const hd = Object.assign({}, extra);
    const t = getToken();
    if (t) hd.Authorization = 'Bearer ' + t;
    return hd;
  }
  class APIError extends Error {
    constructor(msg, url, status) { super(msg); this.url = url; this.status = status; }
  }
  async function api(url, signal) {
    for (;;) {
      const used = getToken();
      let res;
      try {
        res = await fetch(url, { headers: authHeaders({ Accept: 'application/json' }), signal, cache: 'no-store' });
      } catch (e) {
        if (signal && signal.aborted) throw abortError();
        throw new APIError('网络错误：' + e.message, url, 0);
      }
      if (res.status === 401) { await needToken(signal, used); continue; }
      let body = null;
      try { body = await res.json(); } catch (e) { /* not JSON */ }
      if (!res.ok) throw new APIError((body && body.error) || `HTTP ${res.status}`, url, res.status);
      if (!body) throw new APIError('响应不是 JSON', url, res.status);
      return body;
    }
  }

  // ---------- panels ----------
  const panels = {};
  class Panel {
    constructor(name, every, load) {
      this.name = name;
      this.el = document.querySelector(`.panel[data-panel="${name}"]`);
      this.every = every;
      this.load = load;
      this.ctrl = null;
      this.timer = 0;
      this.firstLoad = new Promise((r) => { this.firstDone = r; });
      panels[name] = this;
    }
    setMsg(text) { $('.msg', this.el).textContent = text || ''; }
    markUpdated() {
      const now = new Date();
      this.el.dataset.updated = now.toISOString();
      $('.upd', this.el).textContent = '更新于 ' + fmtClock(now.getTime());
    }
    refresh() {
      if (this.ctrl) this.ctrl.abort();
      clearTimeout(this.timer);
      const ctrl = new AbortController();
      this.ctrl = ctrl;
      this.el.dataset.state = 'loading';
      Promise.resolve().then(() => this.load(ctrl.signal)).then((res) => {
        if (this.ctrl !== ctrl) return;
        this.el.dataset.url = res.url;
        this.el.dataset.state = res.empty ? 'empty' : 'ready';
        this.setMsg(res.empty ? (res.emptyText || '暂无数据') : '');
        this.markUpdated();
      }, (err) => {
        if (this.ctrl !== ctrl || ctrl.signal.aborted) return;
        console.warn(`iwom: panel ${this.name}:`, err);
        if (err && err.url) this.el.dataset.url = err.url;
        this.el.dataset.state = 'error';
        this.setMsg('加载失败：' + (err && err.message ? err.message : String(err)));
      }).finally(() => {
        if (this.ctrl !== ctrl) return;
        this.ctrl = null;
        this.firstDone();
        this.timer = setTimeout(() => this.refresh(), this.every);
      });
    }
  }
  function throwIfAborted(signal) { if (signal.aborted) throw abortError(); }

  // ---------- charts ----------
  const charts = {};
  function chartFor(name) {
    if (!charts[name]) {
      const div = $(`.panel[data-panel="${name}"] .chart`);
      charts[name] = echarts.init(div, null, { renderer: 'canvas' });
    }
    return charts[name];
  }
  function timeAxis(extra) {
    const span = currentWindow().span;
    return Object.assign({
      type: 'time',
      axisLine: { lineStyle: { color: '#c5ccd8' } },
      axisTick: { show: false },
      splitLine: { show: false },
      axisLabel: {
        color: '#6b7789', hideOverlap: true,
        formatter: (v) => {
          const t = sh(v);
          if (t.h === '00' && t.m === '00') return `{d|${t.M}-${t.D}}`;
          if (span > 3 * 86400e3) return `${t.M}-${t.D} ${t.h}时`;
          return span > 36 * 3600e3 ? `${t.M}-${t.D} ${t.h}:${t.m}` : `${t.h}:${t.m}`;
        },
        rich: { d: { fontWeight: 'bold', color: '#3b4657' } },
      },
      axisPointer: { label: { formatter: (p) => fmtShort(p.value) } },
    }, extra);
  }
  function valueAxis(extra) {
    return Object.assign({
      type: 'value',
      splitLine: { lineStyle: { color: '#eef1f5' } },
      axisLabel: { color: '#6b7789', formatter: (v) => fmtNum(v) },
    }, extra);
  }
  const baseOption = () => ({
    textStyle: { fontFamily: FONT },
    animationDuration: 400,
    animationDurationUpdate: 300,
    grid: { left: 48, right: 20, top: 34, bottom: 28, containLabel: false },
    legend: { type: 'scroll', top: 4, left: 8, right: 8, itemWidth: 14, itemHeight: 8, textStyle: { color: '#3b4657', fontSize: 12 } },
  });
  function dot(color) { return `<span style="display:inline-block;width:8px;height:8px;border-radius:50%;background:${color};margin-right:6px"></span>`; }
  function esc(s) { return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c])); }
  function sortBuckets(rows) {
    const set = new Map();
    for (const r of rows) if (!set.has(r.bucket)) set.set(r.bucket, Date.parse(r.bucket));
    return [...set.entries()].sort((a, b) => a[1] - b[1]).map((e) => e[0]);
  }

  // Volume: one line per brand (posts summed over platforms); spikes as markArea.
  let volSpikes = {}; // brand -> [{start,end}] in markArea data order
  async function loadVolume(signal) {
    const url = reportURL('volume', { interval: true });
    const spikesURL = reportURL('spikes', { interval: true });
    // one request at a time: the volume rows, then the spikes to mark on them
    // (a failed spikes request leaves the chart without marks, not in error)
    const vol = await api(url, signal);
    const spikes = await api(spikesURL, signal).catch((e) => { if (signal.aborted) throw e; console.warn('iwom: spikes:', e.message); return { rows: [] }; });
    throwIfAborted(signal);
    const buckets = sortBuckets(vol.rows);
    const sum = new Map(); // brand -> Map(bucket -> posts)
    for (const r of vol.rows) {
      if (!sum.has(r.brand)) sum.set(r.brand, new Map());
      const m = sum.get(r.brand);
      m.set(r.bucket, (m.get(r.bucket) || 0) + (r.posts || 0));
    }
    // spikes grouped by brand, volume and negative of one window merged into one area
    volSpikes = {};
    const areas = {};
    for (const sp of spikes.rows || []) {
      const list = (volSpikes[sp.brand] = volSpikes[sp.brand] || []);
      const ar = (areas[sp.brand] = areas[sp.brand] || []);
      let i = list.findIndex((x) => x.start === sp.start && x.end === sp.end);
      if (i < 0) { i = list.length; list.push({ start: sp.start, end: sp.end, metrics: [] }); ar.push(null); }
      list[i].metrics.push(sp);
      const neg = list[i].metrics.some((m) => m.metric === 'negative');
      const label = list[i].metrics.map((m) => `${m.metric === 'negative' ? '负面' : '声量'}×${fmtNum(Math.round(m.ratio))}`).join(' ');
      ar[i] = [
        { name: label, xAxis: sp.start, itemStyle: { color: neg ? 'rgba(224,49,49,0.12)' : 'rgba(232,89,12,0.12)', borderColor: neg ? 'rgba(224,49,49,0.5)' : 'rgba(232,89,12,0.5)', borderWidth: 1, borderType: 'dashed' } },
        { xAxis: sp.end },
      ];
    }
    const series = S.sel.brands.map((b) => {
      const m = sum.get(b) || new Map();
      const s = {
        id: b, name: brandName(b), type: 'line',
        data: buckets.filter((k) => m.has(k)).map((k) => [k, m.get(k)]),
        showSymbol: buckets.length <= 48, symbolSize: 5, smooth: false,
        lineStyle: { width: 2 }, itemStyle: { color: brandColor(b) },
        emphasis: { focus: 'series' },
      };
      if (areas[b]) {
        s.markArea = {
          silent: false,
          label: { show: true, position: 'insideTopRight', color: '#c92a2a', fontSize: 11, fontWeight: 'bold' },
          emphasis: { label: { show: true } },
          data: areas[b],
        };
      }
      return s;
    });
    const opt = Object.assign(baseOption(), {
      tooltip: {
        trigger: 'axis',
        formatter: (ps) => {
          if (!ps.length) return '';
          const head = `<b>${fmtShort(ps[0].value[0])}</b>`;
          return head + ps.map((p) => `<br>${dot(p.color)}${esc(p.seriesName)}：${fmtNum(p.value[1])} 条`).join('');
        },
      },
      xAxis: timeAxis(),
      yAxis: valueAxis({ minInterval: 1 }),
      series,
    });
    chartFor('volume').setOption(opt, { notMerge: true });
    $('.panel[data-panel="volume"]').dataset.spikesUrl = spikesURL;
    return { url, empty: vol.rows.length === 0 };
  }
  function initVolumeClicks() {
    const chart = chartFor('volume');
    let handled = false;
    chart.on('click', (p) => {
      handled = true;
      if (p.componentType === 'markArea') {
        const list = volSpikes[p.seriesId] || volSpikes[S.sel.brands[p.seriesIndex]] || [];
        const sp = list[p.dataIndex];
        if (sp) setPostsFilter({ from: sp.start, to: sp.end, label: `异常 ${fmtShort(sp.start)}–${fmtHM(sp.end)}` });
      } else if (p.componentType === 'series' && Array.isArray(p.value)) {
        bucketFilter(p.value[0]);
      }
    });
    // A click anywhere in the plot (not on a point) picks the nearest bucket.
    chart.getZr().on('click', (e) => {
      setTimeout(() => {
        if (handled) { handled = false; return; }
        const pt = [e.offsetX, e.offsetY];
        if (!chart.containPixel({ gridIndex: 0 }, pt)) return;
        const x = chart.convertFromPixel({ xAxisIndex: 0 }, pt)[0];
        const opt = chart.getOption();
        let best = null; let bd = Infinity;
        for (const s of opt.series || []) {
          for (const d of s.data || []) {
            const dd = Math.abs(Date.parse(d[0]) - x);
            if (dd < bd) { bd = dd; best = d[0]; }
          }
        }
        if (best) bucketFilter(best);
      }, 0);
    });
  }
  function bucketFilter(bucket) {
    const iv = currentWindow().interval;
    const to = rfc3339(Date.parse(bucket) + INTERVAL_MS[iv]);
    setPostsFilter({ from: bucket, to, label: `时段 ${fmtShort(bucket)}–${fmtHM(to)}` });
  }

  // Sentiment: stacked positive/neutral/negative bars per brand, net line on a second axis.
  async function loadSentiment(signal) {
    const url = reportURL('sentiment', { interval: true });
    const data = await api(url, signal);
    throwIfAborted(signal);
    const by = new Map();
    for (const r of data.rows) { if (!by.has(r.brand)) by.set(r.brand, []); by.get(r.brand).push(r); }
    const series = [];
    S.sel.brands.forEach((b) => {
      const rows = (by.get(b) || []).slice().sort((x, y) => Date.parse(x.bucket) - Date.parse(y.bucket));
      for (const k of ['positive', 'neutral', 'negative']) {
        series.push({
          id: `${b}:${k}`, name: SENT_LABEL[k], type: 'bar', stack: b, yAxisIndex: 0,
          data: rows.map((r) => [r.bucket, r[k]]),
          itemStyle: { color: SENT_COLORS[k] }, barMaxWidth: 18, barGap: '8%',
          emphasis: { focus: 'series' },
        });
      }
      series.push({
        id: `${b}:net`, name: brandName(b), type: 'line', yAxisIndex: 1,
        data: rows.map((r) => [r.bucket, r.net]),
        showSymbol: false, smooth: true, z: 5,
        lineStyle: { width: 2, color: brandColor(b) }, itemStyle: { color: brandColor(b) },
      });
    });
    const opt = Object.assign(baseOption(), {
      grid: { left: 48, right: 44, top: 34, bottom: 28 },
      tooltip: {
        trigger: 'axis',
        formatter: (ps) => {
          if (!ps.length) return '';
          let out = `<b>${fmtShort(ps[0].value[0])}</b>`;
          const byBrand = new Map();
          for (const p of ps) {
            const [b, k] = String(p.seriesId).split(':');
            if (!byBrand.has(b)) byBrand.set(b, {});
            byBrand.get(b)[k] = p.value[1];
          }
          for (const [b, v] of byBrand) {
            out += `<br>${dot(brandColor(b))}<b>${esc(brandName(b))}</b> 正 ${fmtNum(v.positive)} · 中 ${fmtNum(v.neutral)} · 负 ${fmtNum(v.negative)} · 净 ${fmtSigned(v.net)}`;
          }
          return out;
        },
      },
      xAxis: timeAxis(),
      yAxis: [
        valueAxis({ minInterval: 1 }),
        { type: 'value', min: -1, max: 1, interval: 0.5, splitLine: { show: false }, axisLabel: { color: '#6b7789', formatter: (v) => fmtSigned(v) } },
      ],
      series,
    });
    chartFor('sentiment').setOption(opt, { notMerge: true });
    return { url, empty: data.rows.length === 0 };
  }

  // Share of voice: stacked areas, share 0..1 shown as %.
  async function loadSOV(signal) {
    const url = reportURL('sov', { interval: true });
    const data = await api(url, signal);
    throwIfAborted(signal);
    const by = new Map();
    for (const r of data.rows) { if (!by.has(r.brand)) by.set(r.brand, []); by.get(r.brand).push(r); }
    const series = S.sel.brands.map((b) => ({
      id: b, name: brandName(b), type: 'line', stack: 'sov', areaStyle: { opacity: 0.75 },
      data: (by.get(b) || []).slice().sort((x, y) => Date.parse(x.bucket) - Date.parse(y.bucket)).map((r) => [r.bucket, r.share]),
      showSymbol: false, smooth: false, lineStyle: { width: 1 },
      itemStyle: { color: brandColor(b) }, emphasis: { focus: 'series' },
    }));
    const opt = Object.assign(baseOption(), {
      tooltip: {
        trigger: 'axis',
        formatter: (ps) => {
          if (!ps.length) return '';
          return `<b>${fmtShort(ps[0].value[0])}</b>` + ps.map((p) => `<br>${dot(p.color)}${esc(p.seriesName)}：${fmtPct(p.value[1], 1)}`).join('');
        },
      },
      xAxis: timeAxis({ boundaryGap: false }),
      yAxis: valueAxis({ min: 0, max: 1, interval: 0.25, axisLabel: { color: '#6b7789', formatter: (v) => fmtPct(v) } }),
      series,
    });
    chartFor('sov').setOption(opt, { notMerge: true });
    return { url, empty: data.rows.length === 0 };
  }

  // Hot words: one brand at a time, sort=change, rising words in a warm colour.
  function isRising(r) { return r.change > 0 && (r.previous === 0 || (r.growth != null && r.growth >= 0.5)); }
  async function loadWords(signal) {
    const focus = S.focus;
    const url = reportURL('keywords', { brands: [focus], extra: { sort: 'change', limit: '60' } });
    const data = await api(url, signal);
    throwIfAborted(signal);
    const max = Math.max(1, ...data.rows.map((r) => r.posts));
    const items = data.rows.map((r, i) => {
      const rising = isRising(r);
      return {
        name: r.term, value: r.posts, rising, previous: r.previous, change: r.change, growth: r.growth,
        textStyle: {
          color: rising ? RISING_COLOR : STEADY_COLORS[i % STEADY_COLORS.length],
          fontWeight: rising || r.posts / max > 0.3 ? 'bold' : 'normal',
        },
      };
    });
    const opt = {
      textStyle: { fontFamily: FONT },
      tooltip: {
        formatter: (p) => {
          const d = p.data;
          const g = d.growth == null ? (d.previous === 0 ? '新出现' : '–') : fmtPct(d.growth);
          return `<b>${esc(d.name)}</b>${d.rising ? ' <span style="color:#e8590c">▲上升</span>' : ''}<br>帖子 ${fmtNum(d.value)} · 上一周期 ${fmtNum(d.previous)}<br>变化 ${d.change > 0 ? '+' : ''}${fmtNum(d.change)} · 增长 ${g}<br><span style="color:#7b8799">点击筛选热门帖子</span>`;
        },
      },
      series: [{
        id: 'words', type: 'wordCloud', shape: 'square', keepAspect: false,
        left: 'center', top: 'center', width: '96%', height: '92%',
        sizeRange: [13, 52], rotationRange: [0, 0], rotationStep: 90, gridSize: 6,
        drawOutOfBound: false, shrinkToFit: true, layoutAnimation: true,
        textStyle: { fontFamily: FONT },
        emphasis: { focus: 'self', textStyle: { textShadowBlur: 6, textShadowColor: 'rgba(0,0,0,.25)' } },
        data: items,
      }],
    };
    chartFor('words').setOption(opt, { notMerge: true });
    return { url, empty: data.rows.length === 0 };
  }
  function initWordClicks() {
    chartFor('words').on('click', (p) => {
      if (p.seriesType === 'wordCloud' && p.name) setPostsFilter({ term: p.name });
    });
  }

  // KOL table.
  function netCell(net) {
    const cls = net > 0.05 ? 'pos' : net < -0.05 ? 'neg' : 'zero';
    return h('td', { class: 'num' }, h('span', { class: `net ${cls}` }, fmtSigned(net)));
  }
  function brandTag(b) { return h('span', { class: 'tag brand', style: `--c:${brandColor(b)}` }, brandName(b)); }
  async function loadKOLs(signal) {
    const url = reportURL('kols', { extra: { sort: 'reach', limit: '20' } });
    const data = await api(url, signal);
    throwIfAborted(signal);
    const rows = data.rows.map((r) => h('tr', { 'data-key': `${r.brand}|${r.platform}|${r.author_id}` },
      h('td', null, brandTag(r.brand)),
      h('td', null, PLATFORM_LABEL[r.platform] || r.platform),
      h('td', { class: 'author', title: `${r.author_name}（${r.author_id}）` }, r.author_name || r.author_id, h('span', { class: 'followers' }, `${fmtNum(r.followers)} 粉丝`)),
      h('td', { class: 'num' }, fmtNum(r.posts)),
      h('td', { class: 'num' }, fmtNum(r.reach)),
      h('td', { class: 'num' }, fmtNum(r.engagement)),
      netCell(r.net)));
    $('.panel[data-panel="kols"] tbody').replaceChildren(...rows);
    return { url, empty: data.rows.length === 0 };
  }

  // Top posts, optionally filtered to a term or a time window.
  function postsFilterParams() {
    const f = S.postsFilter;
    const p = new URLSearchParams();
    if (f && f.term) p.set('term', f.term);
    else if (f && f.from) { p.set('from', f.from); p.set('to', f.to); }
    return p.toString();
  }
  function highlight(text, term) {
    const t = term ? term.replace(/^#|#$/g, '') : '';
    if (!t || !text.includes(t)) return [text];
    const parts = text.split(t);
    const out = [];
    parts.forEach((s, i) => { if (i) out.push(h('mark', null, t)); if (s) out.push(s); });
    return out;
  }
  async function loadPosts(signal) {
    const f = S.postsFilter;
    const o = { extra: { sort: 'engagement', limit: '10' } };
    if (f && f.from) o.window = { from: f.from, to: f.to };
    if (f && f.term) o.extra = { sort: 'engagement', limit: '10', term: f.term };
    const url = reportURL('top-posts', o);
    const data = await api(url, signal);
    throwIfAborted(signal);
    const items = data.rows.map((r) => h('li', { 'data-key': `${r.brand}|${r.platform}|${r.id}` },
      h('div', { class: 'post-meta' },
        brandTag(r.brand),
        h('span', { class: 'tag' }, PLATFORM_LABEL[r.platform] || r.platform),
        h('span', { class: 'author' }, r.author_name || r.author_id),
        h('span', null, `${fmtNum(r.followers)} 粉丝`),
        h('time', { datetime: r.created_at }, fmtShort(r.created_at)),
        h('span', { class: `tag label-${r.label}` }, SENT_LABEL[r.label] || r.label || '未标注')),
      h('div', { class: 'post-text' }, highlight(r.text || '', f && f.term)),
      h('div', { class: 'post-foot' },
        h('span', null, `转发 ${fmtNum(r.reposts)}`),
        h('span', null, `评论 ${fmtNum(r.comments)}`),
        h('span', null, `点赞 ${fmtNum(r.likes)}`),
        h('span', null, `互动 ${fmtNum(r.engagement)}`),
        r.url ? h('a', { href: r.url, target: '_blank', rel: 'noopener' }, '查看原帖 ↗') : null)));
    $('.panel[data-panel="posts"] .post-list').replaceChildren(...items);
    return { url, empty: data.rows.length === 0, emptyText: f ? '该筛选下暂无帖子' : '暂无数据' };
  }
  function renderFilterChip() {
    const el = panels.posts.el;
    const f = S.postsFilter;
    el.dataset.filter = postsFilterParams();
    const slot = $('.filter-slot', el);
    if (!f) { slot.replaceChildren(); return; }
    const text = f.term ? `热词：${f.term}` : f.label;
    slot.replaceChildren(h('span', { class: 'filter-chip' }, text,
      h('button', { type: 'button', class: 'clear', title: '清除筛选', 'aria-label': '清除筛选', onclick: () => setPostsFilter(null) }, '×')));
  }
  function setPostsFilter(f) {
    S.postsFilter = f;
    renderFilterChip();
    panels.posts.refresh();
  }

  // ---------- alert stream ----------
  const stream = { ctrl: null, lastId: '', timer: 0, quiet: 0, live: false, firstDone: null, first: null };
  stream.first = new Promise((r) => { stream.firstDone = r; });
  const alertsEl = () => panels.alerts.el;
  function setConn(kind, text) {
    const c = $('.conn', alertsEl());
    c.dataset.conn = kind;
    c.textContent = text;
  }
  function streamURL() {
    const p = new URLSearchParams();
    for (const b of S.sel.brands) p.append('brand', b);
    return `/v1/alerts/stream?${p}`;
  }
  function openStream(reset) {
    if (stream.ctrl) stream.ctrl.abort();
    clearTimeout(stream.timer);
    const el = alertsEl();
    if (reset) {
      stream.lastId = '';
      $('.feed', el).replaceChildren();
      el.dataset.state = 'loading';
      el.querySelector('.msg').textContent = '';
    }
    const ctrl = new AbortController();
    stream.ctrl = ctrl;
    const url = streamURL();
    el.dataset.url = url;
    setConn(reset ? 'connecting' : 'retry', reset ? '连接中…' : '重连中…');
    runStream(ctrl, url).then((again) => again, (err) => {
      if (ctrl.signal.aborted) return false;
      console.warn('iwom: alert stream:', err);
      if (err instanceof APIError) {
        el.dataset.state = 'error';
        el.querySelector('.msg').textContent = '预警流不可用：' + err.message;
      }
      return false;
    }).then((again) => {
      if (stream.ctrl !== ctrl || ctrl.signal.aborted) return;
      stream.firstDone();
      if (again) { openStream(false); return; }
      setConn('retry', '重连中…');
      stream.timer = setTimeout(() => openStream(false), 2000);
    });
  }
  // Returns true to reconnect at once (after a token was entered).
  async function runStream(ctrl, url) {
    const signal = ctrl.signal;
    const used = getToken();
    const headers = authHeaders({ Accept: 'text/event-stream' });
    if (stream.lastId) headers['Last-Event-ID'] = stream.lastId;
    let res;
    try {
      res = await fetch(url, { headers, signal, cache: 'no-store' });
    } catch (e) {
      if (signal.aborted) throw abortError();
      throw new Error('网络错误：' + e.message);
    }
    if (res.status === 401) { await needToken(signal, used); return true; }
    if (!res.ok || !res.body) {
      let body = null;
      try { body = await res.json(); } catch (e) { /* not JSON */ }
      throw new APIError((body && body.error) || `HTTP ${res.status}`, url, res.status);
    }
    const el = alertsEl();
    setConn('open', '已连接');
    el.dataset.state = $('.feed', el).children.length ? 'ready' : 'empty';
    el.querySelector('.msg').textContent = $('.feed', el).children.length ? '' : '暂无预警';
    panels.alerts.markUpdated();
    stream.live = false;
    const settle = () => { clearTimeout(stream.quiet); stream.quiet = setTimeout(() => { stream.live = true; stream.firstDone(); }, 600); };
    settle();
    const reader = res.body.getReader();
    signal.addEventListener('abort', () => reader.cancel().catch(() => {}), { once: true });
    const dec = new TextDecoder();
    let buf = '';
    let ev = { type: '', data: [], id: null };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      for (;;) {
        const i = buf.search(/[\r\n]/);
        if (i < 0) break;
        if (buf[i] === '\r' && i === buf.length - 1) break; // wait: may be \r\n split across chunks
        const line = buf.slice(0, i);
        buf = buf.slice(i + (buf[i] === '\r' && buf[i + 1] === '\n' ? 2 : 1));
        if (line === '') {
          if (ev.id != null) stream.lastId = ev.id;
          if (ev.data.length) dispatchEvent(ev.type || 'message', ev.data.join('\n'), stream.lastId);
          ev = { type: '', data: [], id: null };
          continue;
        }
        if (line[0] === ':') continue;
        const c = line.indexOf(':');
        const field = c < 0 ? line : line.slice(0, c);
        let val = c < 0 ? '' : line.slice(c + 1);
        if (val[0] === ' ') val = val.slice(1);
        if (field === 'event') ev.type = val;
        else if (field === 'data') ev.data.push(val);
        else if (field === 'id' && !val.includes('\0')) ev.id = val;
      }
      if (!stream.live) settle();
    }
    return false; // server closed: reconnect after 2 s
  }
  function dispatchEvent(type, data, eventId) {
    if (type !== 'alert' && type !== 'message') return;
    let a;
    try { a = JSON.parse(data); } catch (e) { console.warn('iwom: bad alert JSON', e); return; }
    addAlert(a, eventId);
  }
  function sevClass(s) { return s >= 8 ? 's-crit' : s >= 6 ? 's-high' : s >= 4 ? 's-mid' : 's-low'; }
  function isRatioKind(a) { return /ratio/.test(a.kind || '') || /ratio/.test(a.rule || ''); }
  function addAlert(a, eventId) {
    const el = alertsEl();
    const feed = $('.feed', el);
    const id = String(a.id || '');
    for (const old of feed.querySelectorAll('li')) if (old.dataset.alertId === id) old.classList.add('older');
    const fmtObs = (v) => (isRatioKind(a) ? fmtPct(v, 1) : fmtNum(v));
    const state = a.state || '';
    const kinds = KIND_LABEL[a.rule] || KIND_LABEL[a.kind] || a.rule || a.kind || '预警';
    const sample = (a.samples && a.samples[0]) || (a.post ? { text: a.post.text, author: a.post.author_name || a.post.author } : null);
    const li = h('li', {
      'data-alert-id': id, 'data-seq': a.seq, 'data-event-id': eventId,
      class: `al state-li-${state}`, style: `--inc:${hashColor(id)}`,
    },
    h('div', { class: 'al-head' },
      h('span', { class: `sev ${sevClass(a.severity || 0)}`, title: '严重度 1–10' }, `S${a.severity != null ? a.severity : '?'}`),
      brandTag(a.brand),
      h('span', { class: 'kind', title: `${a.rule || ''} / ${a.kind || ''}` }, kinds),
      h('span', { class: `state ${STATE_LABEL[state] ? 'state-' + state : 'state-other'}` }, STATE_LABEL[state] || state || '—'),
      h('time', { datetime: a.event_time || '' }, a.event_time ? fmtShort(a.event_time) : '')),
    h('div', { class: 'al-nums' },
      a.window_start ? `窗口 ${fmtHM(a.window_start)}–${fmtHM(a.window_end)}` : '',
      a.observed != null ? ` · 观测 ${fmtObs(a.observed)} / 基线 ${fmtObs(a.baseline)}` : '',
      a.ratio != null ? ` · ×${trimZero(Number(a.ratio).toFixed(1))}` : ''),
    (a.top_keywords && a.top_keywords.length) ? h('div', { class: 'al-kw' },
      a.top_keywords.slice(0, 6).map((k) => h('button', { type: 'button', title: '筛选热门帖子', onclick: () => setPostsFilter({ term: k }) }, k))) : null,
    sample ? h('div', { class: 'al-sample' }, sample.text || '', sample.author ? h('span', { class: 'by' }, ` — ${sample.author}`) : null) : null,
    h('div', { class: 'al-inc' }, h('b', null, '● '), `事件 ${shortHash(id)} · 第 ${a.seq != null ? a.seq : '?'} 条 · ${a.rule || a.kind || ''}`));
    feed.prepend(li);
    while (feed.children.length > 100) feed.lastElementChild.remove();
    if (stream.live) {
      li.classList.add('fresh');
      setTimeout(() => li.classList.remove('fresh'), 2500);
    }
    el.dataset.state = 'ready';
    el.querySelector('.msg').textContent = '';
    panels.alerts.markUpdated();
  }

  // ---------- controls & URL hash ----------
  function parseHash() {
    const raw = location.hash.replace(/^#/, '');
    const p = new URLSearchParams(raw);
    const sel = { brands: [], platform: '', range: '24h', from: '', to: '' };
    const brands = (p.get('brand') || '').split(',').map((s) => s.trim()).filter(Boolean);
    sel.brands = [...new Set(brands)];
    const plat = p.get('platform') || '';
    sel.platform = S.platforms.includes(plat) ? plat : '';
    const range = p.get('range') || '24h';
    sel.range = RANGES[range] ? range : '24h';
    if (sel.range === 'custom') {
      sel.from = normTime(p.get('from'));
      sel.to = normTime(p.get('to'));
      if (!sel.from || !sel.to || Date.parse(sel.from) >= Date.parse(sel.to)) { sel.range = '24h'; sel.from = sel.to = ''; }
    }
    return { sel, focus: p.get('focus') || '', empty: raw === '' };
  }
  function hashString() {
    const sel = S.sel;
    const parts = [`brand=${sel.brands.map(encodeURIComponent).join(',')}`];
    if (sel.platform) parts.push(`platform=${encodeURIComponent(sel.platform)}`);
    parts.push(`range=${sel.range}`);
    if (sel.range === 'custom') parts.push(`from=${encodeURIComponent(sel.from).replace(/%3A/g, ':')}`, `to=${encodeURIComponent(sel.to).replace(/%3A/g, ':')}`);
    if (S.focus && S.focus !== sel.brands[0]) parts.push(`focus=${encodeURIComponent(S.focus)}`);
    return '#' + parts.join('&');
  }
  function writeHash() {
    const s = hashString();
    if (location.hash !== s) history.replaceState(null, '', s);
  }
  function renderControls() {
    // brand chips: known brands in /v1/brands order, then unknown selected ones
    const ids = S.brands.map((b) => b.id);
    for (const b of S.sel.brands) if (!ids.includes(b)) ids.push(b);
    $('.brand-chips').replaceChildren(...ids.map((id) => {
      const on = S.sel.brands.includes(id);
      const input = h('input', { type: 'checkbox', value: id, checked: on });
      input.addEventListener('change', () => toggleBrand(id, input.checked));
      return h('label', { class: `brand-chip${on ? ' on' : ''}${S.brandIdx.has(id) ? '' : ' unknown'}`, style: `--c:${brandColor(id)}`, title: (S.brandIdx.get(id) || { aliases: [] }).aliases.join(' / ') },
        input, h('span', { class: 'dot' }), h('span', { class: 'name' }, brandName(id)), h('span', { class: 'id' }, id));
    }));
    const plats = [['', '全部'], ...S.platforms.map((p) => [p, PLATFORM_LABEL[p] ? `${PLATFORM_LABEL[p]} ${p}` : p])];
    $('.platform-seg').replaceChildren(...plats.map(([v, label]) => h('button', {
      type: 'button', 'data-platform': v, 'aria-pressed': String(S.sel.platform === v),
      onclick: () => { if (S.sel.platform !== v) { S.sel.platform = v; changed(); } },
    }, label)));
    $('.range-seg').replaceChildren(...Object.entries(RANGES).map(([k, r]) => h('button', {
      type: 'button', 'data-range': k, 'aria-pressed': String(S.sel.range === k),
      onclick: () => setRange(k),
    }, r.label)));
    const custom = $('.custom-range');
    custom.hidden = S.sel.range !== 'custom';
    if (S.sel.range === 'custom') {
      $('.custom-from').value = localInput(Date.parse(S.sel.from));
      $('.custom-to').value = localInput(Date.parse(S.sel.to));
    }
    const w = currentWindow();
    $('.interval-note').textContent = `粒度 ${INTERVAL_LABEL[w.interval]}`;
    // words focus select
    const focusSel = $('.panel[data-panel="words"] .focus');
    focusSel.replaceChildren(...S.sel.brands.map((b) => h('option', { value: b, selected: b === S.focus }, `${brandName(b)} ${b}`)));
  }
  function toggleBrand(id, on) {
    let list = S.sel.brands.filter((b) => b !== id);
    if (on) list.push(id);
    if (!list.length) { renderControls(); return; } // keep at least one brand
    S.sel.brands = list;
    changed({ brands: true });
  }
  function setRange(k) {
    if (k === 'custom') {
      if (S.sel.range !== 'custom') {
        const now = Date.now();
        const span = S.sel.range && RANGES[S.sel.range].ms ? RANGES[S.sel.range].ms : 86400e3;
        const to = Math.floor(now / 60e3) * 60e3;
        S.sel.from = rfc3339(to - span);
        S.sel.to = rfc3339(to);
      }
    } else { S.sel.from = ''; S.sel.to = ''; }
    if (S.sel.range === k && k !== 'custom') return;
    S.sel.range = k;
    changed();
  }
  function initCustomInputs() {
    const apply = () => {
      const f = normTime($('.custom-from').value);
      const t = normTime($('.custom-to').value);
      if (!f || !t || Date.parse(f) >= Date.parse(t)) return;
      if (f === S.sel.from && t === S.sel.to) return;
      S.sel.from = f; S.sel.to = t;
      changed();
    };
    $('.custom-from').addEventListener('change', apply);
    $('.custom-to').addEventListener('change', apply);
    $('.panel[data-panel="words"] .focus').addEventListener('change', (ev) => {
      S.focus = ev.target.value;
      writeHash();
      panels.words.refresh();
    });
  }
  // A control changed: write the hash, clear the drill-down, refresh everything now.
  function changed(o) {
    o = o || {};
    if (!S.sel.brands.includes(S.focus)) S.focus = S.sel.brands[0] || '';
    writeHash();
    renderControls();
    S.postsFilter = null;
    renderFilterChip();
    for (const p of Object.values(panels)) if (p.name !== 'alerts') p.refresh();
    if (o.brands || o.force) openStream(true);
  }
  function applyHash() {
    const { sel, focus } = parseHash();
    if (!sel.brands.length) sel.brands = S.brands.slice(0, 3).map((b) => b.id);
    const brandsChanged = sel.brands.join(',') !== S.sel.brands.join(',');
    S.sel = sel;
    S.focus = sel.brands.includes(focus) ? focus : sel.brands[0] || '';
    return brandsChanged;
  }

  // ---------- boot ----------
  let readyResolve;
  const ready = new Promise((r) => { readyResolve = r; });
  window.iwomDashboard = {
    ready,
    state: () => ({
      brands: S.sel.brands.slice(), platform: S.sel.platform, range: S.sel.range,
      from: S.sel.from, to: S.sel.to, interval: currentWindow().interval, focus: S.focus,
      postsFilter: S.postsFilter ? Object.assign({}, S.postsFilter) : null,
      hash: hashString(),
    }),
  };

  async function loadBrands() {
    const g = $('.global-msg');
    for (;;) {
      try {
        const data = await api('/v1/brands');
        g.hidden = true;
        return data;
      } catch (e) {
        g.hidden = false;
        g.textContent = '无法读取品牌列表：' + e.message + '（5 秒后重试）';
        await new Promise((r) => setTimeout(r, 5000));
      }
    }
  }

  async function boot() {
    initTokenForm();
    new Panel('volume', REFRESH.volume, loadVolume);
    new Panel('sentiment', REFRESH.sentiment, loadSentiment);
    new Panel('sov', REFRESH.sov, loadSOV);
    new Panel('words', REFRESH.words, loadWords);
    new Panel('kols', REFRESH.kols, loadKOLs);
    new Panel('posts', REFRESH.posts, loadPosts);
    panels.alerts = { name: 'alerts', el: $('.panel[data-panel="alerts"]'), firstLoad: stream.first, refresh() {} };
    panels.alerts.markUpdated = Panel.prototype.markUpdated;
    for (const n of ['volume', 'sentiment', 'sov', 'words']) chartFor(n);
    initVolumeClicks();
    initWordClicks();
    initCustomInputs();

    const data = await loadBrands();
    S.brands = data.brands || [];
    S.brandIdx = new Map(S.brands.map((b) => [b.id, b]));
    if (Array.isArray(data.platforms) && data.platforms.length) S.platforms = data.platforms;
    applyHash();
    changed({ force: true });

    window.addEventListener('hashchange', () => {
      if (location.hash === hashString()) return;
      const brandsChanged = applyHash();
      changed({ brands: brandsChanged });
    });
    let rt = 0;
    const resize = () => { clearTimeout(rt); rt = setTimeout(() => Object.values(charts).forEach((c) => c.resize()), 80); };
    window.addEventListener('resize', resize);
    if (window.ResizeObserver) {
      const ro = new ResizeObserver(resize);
      document.querySelectorAll('.chart').forEach((d) => ro.observe(d));
    }
    Promise.all(Object.values(panels).map((p) => p.firstLoad)).then(() => readyResolve());
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
}());
