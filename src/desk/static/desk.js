// The front desk: sign in, the door, today's guests, a new guest. It uses the
// public API only, with the same headers as any client. Credentials live in
// sessionStorage (this tab, until sign-out) and travel only in headers.
'use strict';

(function () {
  const STORAGE_KEY = 'guestpass.desk';
  const LEVEL_HEADERS = {
    client: ['X-Client-ID', 'X-Client-Secret'],
    chain: ['X-Chain-ID', 'X-Chain-Secret'],
    location: ['X-Location-ID', 'X-Location-Secret'],
  };
  // The blueprint makes X-Client-ID optional; every other header of a level is required.
  const OPTIONAL_HEADERS = new Set(['X-Client-ID']);
  // A keyboard-wedge scanner often reads the same code twice in a row.
  const REPEAT_WINDOW_MS = 4000;
  const TODAY_PAGE = 100;
  const TODAY_MAX = 500;
  const RECENT = 6;

  const REASON_TEXT = {
    missing: 'Required.',
    wrongFormat: 'Not in a valid format.',
    tooLong: 'Too long.',
    tooLarge: 'Too large.',
    outOfRange: 'Out of range.',
    inPast: 'Must be in the future.',
    periodTooLong: 'The pass would be longer than this deployment allows.',
    greaterThanValidUntil: 'Must be before “Valid until”.',
    lessThanValidFrom: 'Must be after “Valid from”.',
  };
  const FIELD_REASON_TEXT = {
    email: { wrongFormat: 'Not a valid email address.' },
    phone: { wrongFormat: 'Digits, spaces, ( ) and - only, optionally starting with +; 5 to 32 characters.' },
    validFrom: { wrongFormat: 'Enter a date and time.', missing: 'Enter a date and time.' },
    validUntil: { wrongFormat: 'Enter a date and time.', missing: 'Enter a date and time.' },
  };
  const STATUS_TEXT = { ACTIVE: 'Active', UPCOMING: 'Upcoming', EXPIRED: 'Expired', CANCELLED: 'Cancelled' };

  const byId = (id) => document.getElementById(id);
  const el = (tag, props, ...children) => {
    const node = document.createElement(tag);
    Object.assign(node, props || {});
    node.append(...children);
    return node;
  };

  let config = null;
  let session = null;
  let doorSeq = 0;
  let lastCheckin = { code: '', at: 0 };
  let inFlightCode = '';
  let todaySeq = 0;
  let detailPass = null;

  // ---- Dates: shown in the browser's zone, sent as strict UTC ----

  const dateTime = new Intl.DateTimeFormat(undefined, {
    weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit',
  });
  const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
  const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';

  /** `yyyy-MM-dd'T'HH:mm:ss'Z'`: whole seconds, no fraction, no offset. */
  function toUtc(date) {
    return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  function sameLocalDay(a, b) {
    return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
  }

  function showDate(utc) {
    const d = new Date(utc);
    return Number.isNaN(d.getTime()) ? String(utc) : dateTime.format(d);
  }

  function showPeriod(from, until) {
    const a = new Date(from);
    const b = new Date(until);
    if (Number.isNaN(a.getTime()) || Number.isNaN(b.getTime())) return `${from} – ${until}`;
    return sameLocalDay(a, b) ? `${dateTime.format(a)} – ${timeOnly.format(b)}` : `${dateTime.format(a)} – ${dateTime.format(b)}`;
  }

  /** The value of a datetime-local input: local wall time, minutes. */
  function localInputValue(date) {
    const pad = (n) => String(n).padStart(2, '0');
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
  }

  // ---- Check-in codes ----

  const LOOKALIKES = { O: 'Q or D', 0: 'Q or D', I: '7, J or T', L: '7, J or T', 1: '7, J or T' };

  /**
   * What was typed or scanned → the code to send, or why no code can match.
   * Width forms (full-width letters from an IME) fold to ASCII, lower case to
   * upper, and spaces and dashes (codes read out or printed in groups) go.
   * O, 0, I, L and 1 are in no code at all, on purpose, so there is nothing
   * they could safely be changed to: the desk says which character is wrong
   * instead of guessing a different guest's code.
   */
  function normalizeCode(raw, alphabet, length) {
    const code = String(raw).normalize('NFKC').toUpperCase().replace(/[\s\u00ad\u2010-\u2015\u2212_-]+/g, '');
    if (code === '') return { code, problem: 'empty' };
    const lookalike = [...code].find((c) => c in LOOKALIKES);
    if (lookalike !== undefined) {
      return { code, problem: 'lookalike', character: lookalike, suggestion: LOOKALIKES[lookalike] };
    }
    const foreign = [...code].find((c) => !alphabet.includes(c));
    if (foreign !== undefined) return { code, problem: 'character', character: foreign };
    if (code.length !== length) return { code, problem: 'length' };
    return { code, problem: null };
  }

  // ---- The API ----

  function sessionHeaders() {
    const headers = { ...session.headers };
    if (session.userId) headers['X-User-ID'] = session.userId;
    return headers;
  }

  /** One request to the API; never throws: `status` 0 means no answer. */
  async function api(method, path, { query, body, headers } = {}) {
    const url = new URL(config.basePath + path, window.location.origin);
    for (const [name, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null) url.searchParams.set(name, value);
    }
    const init = {
      method,
      headers: { Accept: 'application/json', ...(headers || sessionHeaders()) },
      cache: 'no-store',
      credentials: 'omit',
      redirect: 'error',
      referrerPolicy: 'no-referrer',
    };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      return { status: 0, body: null, requestId: null, retryAfter: null };
    }
    const text = await response.text().catch(() => '');
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch (error) {
      parsed = null;
    }
    return {
      status: response.status,
      body: parsed,
      requestId: response.headers.get('X-Request-ID'),
      retryAfter: response.headers.get('Retry-After'),
    };
  }

  /** Plain words for an answer that is not the one the screen hoped for. */
  function problemText(res) {
    const body = res.body || {};
    switch (res.status) {
      case 0: return 'No answer from the server. Check the connection and try again.';
      case 400: {
        const errors = Object.entries(body.errors || {}).map(([name, reason]) => `${name}: ${reason}`);
        return `The server refused the request (${errors.join(', ') || 'bad request'}).`;
      }
      case 401: return `Not signed in: ${body.message || 'the credentials were refused'}.`;
      case 404: return body.parameter === 'locationId'
        ? `Location “${session ? session.locationId : ''}” does not exist, or is not yours.`
        : body.message || 'Not found.';
      case 429: return `Too many requests: wait ${res.retryAfter || 'a few'} seconds and try again.`;
      case 503: return 'The database is unavailable right now. Try again in a moment.';
      default:
        return `The server could not answer (${res.status}${res.requestId ? `, request ${res.requestId}` : ''}).`;
    }
  }

  function announce(text) {
    const region = byId('announcer');
    region.textContent = '';
    // A fresh text node after a tick makes screen readers speak repeated messages too.
    window.setTimeout(() => { region.textContent = text; }, 50);
  }

  function showFormError(id, text) {
    const node = byId(id);
    node.textContent = text || '';
    node.hidden = !text;
  }

  // ---- Screens ----

  const SCREENS = ['loading', 'signin', 'door', 'today', 'new'];

  function currentScreen() {
    return SCREENS.find((name) => !byId(`screen-${name}`).hidden);
  }

  function show(name) {
    for (const screen of SCREENS) byId(`screen-${screen}`).hidden = screen !== name;
    byId('bar').hidden = !session;
    byId('tz-note').hidden = !session;
    for (const button of document.querySelectorAll('button.nav')) {
      if (button.dataset.screen === name) button.setAttribute('aria-current', 'page');
      else button.removeAttribute('aria-current');
    }
    if (name === 'door') focusDoor();
    if (name === 'today') {
      byId('today-title').focus();
      loadToday();
    }
    if (name === 'new') {
      if (byId('new-pass').hidden) {
        resetNewForm();
        byId('new-firstName').focus();
      } else {
        byId('new-pass-name').focus();
      }
    }
    if (name === 'signin') {
      const first = [...byId('signin-form').querySelectorAll('input')].find((i) => !i.closest('[hidden]'));
      if (first) first.focus();
    }
  }

  // ---- Sign in / out ----

  function loadSession() {
    try {
      const saved = JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) || 'null');
      if (saved && saved.headers && saved.locationId) return saved;
    } catch (error) {
      // Unreadable: sign in again.
    }
    return null;
  }

  function setSession(value) {
    session = value;
    window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(value));
    for (const node of document.querySelectorAll('.location-name')) node.textContent = value.locationId;
    byId('where-location').textContent = value.locationId;
    byId('where-user').textContent = value.userId ? ` · ${value.userId}` : '';
  }

  async function signIn(event) {
    event.preventDefault();
    const form = byId('signin-form');
    const value = (name) => form.elements.namedItem(name).value.trim();
    const headers = {};
    const missing = [];
    for (const level of config.accessLevels) {
      for (const name of LEVEL_HEADERS[level]) {
        const v = value(name);
        if (v) headers[name] = v;
        else if (!OPTIONAL_HEADERS.has(name)) missing.push(name);
      }
    }
    let locationId = value('locationId');
    if (!locationId && headers['X-Location-ID']) locationId = headers['X-Location-ID'];
    if (!locationId) missing.push('locationId');
    // Header values must be visible ASCII: a browser cannot send anything else reliably.
    const unsendable = Object.entries(headers).filter(([, v]) => !/^[\x21-\x7e]+$/.test(v)).map(([n]) => n);
    const userId = value('X-User-ID');
    if (userId && !/^[\x20-\x7e]+$/.test(userId)) unsendable.push('X-User-ID');
    for (const input of form.querySelectorAll('input')) {
      input.setAttribute('aria-invalid', String(missing.includes(input.name) || unsendable.includes(input.name)));
    }
    if (missing.length || unsendable.length) {
      const parts = [];
      if (missing.length) parts.push(`Fill in: ${missing.map(labelOf).join(', ')}.`);
      if (unsendable.length) parts.push(`Use plain ASCII letters, digits and signs in: ${unsendable.map(labelOf).join(', ')}.`);
      showFormError('signin-error', parts.join(' '));
      return;
    }
    const submit = byId('signin-submit');
    submit.disabled = true;
    showFormError('signin-error', '');
    const probe = { headers, locationId, userId };
    const requestHeaders = { ...headers };
    if (userId) requestHeaders['X-User-ID'] = userId;
    // Any authenticated read proves the credentials; this one also proves the location.
    const res = await api('GET', '/guest-passes', { query: { locationId, limit: 1 }, headers: requestHeaders });
    submit.disabled = false;
    if (res.status === 200) {
      for (const input of form.querySelectorAll('input[type="password"]')) input.value = '';
      setSession(probe);
      announce(`Signed in at ${locationId}.`);
      show('door');
      return;
    }
    let text;
    if (res.status === 401) text = (res.body && res.body.message) || 'The credentials were refused.';
    else if (res.status === 404 && res.body && res.body.parameter === 'locationId') {
      text = `Location “${locationId}” does not exist, or these credentials do not cover it.`;
    } else {
      text = problemText(res);
    }
    showFormError('signin-error', text);
    const bad = res.status === 401 && res.body && res.body.message ? res.body.message.split(' ')[0] : null;
    const field = bad && form.elements.namedItem(bad);
    if (field) {
      field.setAttribute('aria-invalid', 'true');
      field.focus();
    }
  }

  function labelOf(name) {
    const input = document.querySelector(`#signin-form [name="${name}"]`);
    const label = input && document.querySelector(`label[for="${input.id}"]`);
    return label ? label.firstChild.textContent.trim() : name;
  }

  function signOut() {
    window.sessionStorage.clear();
    session = null;
    detailPass = null;
    lastCheckin = { code: '', at: 0 };
    todaySeq++;
    doorSeq++;
    for (const form of document.querySelectorAll('form')) form.reset();
    for (const input of document.querySelectorAll('input')) input.removeAttribute('aria-invalid');
    setOutcome('', 'Ready for the next guest', '');
    byId('recent').replaceChildren();
    byId('recent-section').hidden = true;
    byId('today-rows').replaceChildren();
    byId('detail').hidden = true;
    byId('new-pass').hidden = true;
    byId('new-pass-qr').replaceChildren();
    showFormError('signin-error', '');
    announce('Signed out.');
    show('signin');
  }

  // ---- The door ----

  function focusDoor() {
    const input = byId('door-code');
    if (currentScreen() === 'door' && document.activeElement !== input) input.focus();
  }

  function setOutcome(outcome, title, detail, code) {
    const box = byId('outcome');
    box.dataset.outcome = outcome;
    box.dataset.code = code || '';
    box.dataset.seq = String(doorSeq);
    byId('outcome-title').textContent = title;
    byId('outcome-detail').textContent = detail || '';
    if (outcome && outcome !== 'pending') remember(outcome, title);
  }

  // The last few answers stay in view: a guest who walked on before the
  // receptionist looked up can still be told apart.
  function remember(outcome, title) {
    const list = byId('recent');
    const when = new Date();
    const item = el('li', {}, el('time', { dateTime: toUtc(when), textContent: timeOnly.format(when) }), el('span', { textContent: title }));
    item.dataset.outcome = outcome;
    list.prepend(item);
    while (list.children.length > RECENT) list.lastElementChild.remove();
    byId('recent-section').hidden = false;
  }

  function guestName(pass) {
    return `${pass.firstName} ${pass.lastName}`;
  }

  async function findByCode(code) {
    const res = await api('GET', '/guest-passes', { query: { checkinCode: code, limit: 1 } });
    return res.status === 200 && res.body && res.body.guestPasses ? res.body.guestPasses[0] || null : null;
  }

  async function checkIn(event) {
    event.preventDefault();
    const input = byId('door-code');
    const typed = input.value;
    input.value = '';
    const normalized = normalizeCode(typed, config.codeAlphabet, config.codeLength);
    const { code } = normalized;
    if (normalized.problem === 'empty') return;
    if (normalized.problem) {
      doorSeq++;
      let detail;
      if (normalized.problem === 'lookalike') {
        detail = `Codes never contain ${normalized.character === '0' || normalized.character === 'O' ? 'O or 0' : 'I, L or 1'}: is it ${normalized.suggestion}? (typed ${code})`;
      } else if (normalized.problem === 'character') {
        detail = `Codes have only letters and digits; “${normalized.character}” is not one of them. (typed ${code})`;
      } else {
        detail = `A code has ${config.codeLength} characters; this has ${code.length}. (typed ${code})`;
      }
      setOutcome('notFound', 'Not a check-in code', detail, code);
      byId('outcome').dataset.checked = 'locally';
      return;
    }
    if (code === inFlightCode) return;
    if (code === lastCheckin.code && Date.now() - lastCheckin.at < REPEAT_WINDOW_MS) {
      doorSeq++;
      setOutcome('checked-in', lastCheckin.title, `${lastCheckin.detail} (scanned twice: counted once)`, code);
      return;
    }
    const seq = ++doorSeq;
    byId('outcome').dataset.checked = 'server';
    inFlightCode = code;
    setOutcome('pending', 'Checking…', code, code);
    const res = await api('POST', '/checkins', { body: { checkinCode: code, locationId: session.locationId } });
    if (inFlightCode === code) inFlightCode = '';
    if (seq !== doorSeq) return;
    if (res.status === 201) {
      const passRes = await api('GET', `/guest-passes/${encodeURIComponent(res.body.guestPassId)}`);
      if (seq !== doorSeq) return;
      const pass = passRes.status === 200 ? passRes.body : null;
      const title = pass ? `${guestName(pass)} — checked in` : 'Checked in';
      const detail = pass
        ? `${timeOnly.format(new Date(res.body.checkedInAt))} · pass valid until ${showDate(pass.validUntil)}`
        : timeOnly.format(new Date(res.body.checkedInAt));
      lastCheckin = { code, at: Date.now(), title, detail };
      setOutcome('checked-in', title, detail, code);
      return;
    }
    if (res.status === 404 && res.body && res.body.parameter === 'checkinCode') {
      setOutcome('notFound', 'Unknown code', `No guest pass here has the code ${code}.`, code);
      return;
    }
    if (res.status === 422 && res.body && res.body.cause === 'checkinFailed') {
      const reason = res.body.reason;
      const pass = await findByCode(code);
      if (seq !== doorSeq) return;
      const who = pass ? guestName(pass) : `Code ${code}`;
      let title;
      let detail;
      switch (reason) {
        case 'guestPassCancelled':
          title = `${who}: pass cancelled`;
          detail = pass && pass.cancelledAt ? `Cancelled ${showDate(pass.cancelledAt)}.` : 'This pass was cancelled.';
          break;
        case 'guestPassExpired':
          title = `${who}: pass expired`;
          detail = pass ? `It ended ${showDate(pass.validUntil)}.` : 'This pass has ended.';
          break;
        case 'guestPassNotYetValid':
          title = `${who}: not valid yet`;
          detail = pass ? `Valid from ${showDate(pass.validFrom)}.` : 'This pass is not valid yet.';
          break;
        case 'wrongLocation':
          title = `${who}: another location`;
          detail = pass ? `The pass is for ${pass.locationId}, not ${session.locationId}.` : 'The pass belongs to another location.';
          break;
        default:
          title = `${who}: not checked in`;
          detail = res.body.message || reason;
      }
      setOutcome(reason, title, detail, code);
      return;
    }
    setOutcome('error', 'Not checked in', problemText(res), code);
  }

  // Typing anywhere on the door goes into the code field, so a scan never
  // lands on a button (whose Enter would press it).
  function redirectTyping(event) {
    if (currentScreen() !== 'door' || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key.length !== 1 || event.target === byId('door-code')) return;
    if (byId('confirm-cancel').open) return;
    byId('door-code').focus();
  }

  // ---- Today ----

  async function searchAll(query) {
    const passes = [];
    for (let offset = 0; passes.length < TODAY_MAX; offset += TODAY_PAGE) {
      const res = await api('GET', '/guest-passes', { query: { ...query, limit: TODAY_PAGE, offset } });
      if (res.status !== 200) return { error: res, passes };
      passes.push(...res.body.guestPasses);
      if (offset + TODAY_PAGE >= res.body.total) return { passes, total: res.body.total };
    }
    return { passes, capped: true };
  }

  async function loadToday() {
    const seq = ++todaySeq;
    const status = byId('today-status');
    status.textContent = 'Loading…';
    const now = new Date();
    const midnight = new Date(now);
    midnight.setHours(24, 0, 0, 0);
    const locationId = session.locationId;
    const [current, upcoming] = await Promise.all([
      searchAll({ locationId, validAt: toUtc(now) }),
      searchAll({ locationId, status: 'UPCOMING' }),
    ]);
    if (seq !== todaySeq) return;
    const failed = current.error || upcoming.error;
    if (failed) {
      status.textContent = problemText(failed);
      return;
    }
    const seen = new Set();
    const passes = [...current.passes, ...upcoming.passes.filter((p) => new Date(p.validFrom) < midnight)]
      .filter((p) => !seen.has(p.guestPassId) && seen.add(p.guestPassId))
      .sort((a, b) => a.validFrom.localeCompare(b.validFrom) || guestName(a).localeCompare(guestName(b)));
    const rows = passes.map(todayRow);
    byId('today-rows').replaceChildren(...rows.map((r) => r.row));
    const capped = current.capped || upcoming.capped ? ` (only the first ${TODAY_MAX} of each search)` : '';
    status.textContent = passes.length
      ? `${passes.length} guest${passes.length === 1 ? '' : 's'} valid now or later today${capped}. Updated ${timeOnly.format(now)}.`
      : `No guests valid now or later today. Updated ${timeOnly.format(now)}.`;
    // Visit counts, a few at a time: one request per pass.
    const queue = rows.slice();
    const worker = async () => {
      while (queue.length && seq === todaySeq) {
        const { pass, visits } = queue.shift();
        const res = await api('GET', `/guest-passes/${encodeURIComponent(pass.guestPassId)}/checkins`);
        visits.textContent = res.status === 200 ? String(res.body.checkins.length) : '?';
        visits.dataset.visits = res.status === 200 ? String(res.body.checkins.length) : '';
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  }

  function todayRow(pass) {
    const open = el('button', { type: 'button', className: 'link', textContent: guestName(pass) });
    open.dataset.guestPassId = pass.guestPassId;
    open.addEventListener('click', () => openDetail(pass.guestPassId));
    const visits = el('td', { className: 'visits', textContent: '…' });
    visits.dataset.label = 'Visits';
    const valid = el('td', { textContent: showPeriod(pass.validFrom, pass.validUntil) });
    valid.dataset.label = 'Valid';
    const statusCell = el('td', {}, el('span', { className: `status status-${pass.status}`, textContent: STATUS_TEXT[pass.status] || pass.status }));
    statusCell.dataset.label = 'Status';
    const row = el('tr', {}, el('td', {}, open, el('span', { className: 'email', textContent: pass.email })), valid, statusCell, visits);
    row.dataset.guestPassId = pass.guestPassId;
    if (detailPass && detailPass.guestPassId === pass.guestPassId) row.setAttribute('aria-current', 'true');
    return { pass, row, visits };
  }

  async function openDetail(id) {
    const [passRes, visitsRes] = await Promise.all([
      api('GET', `/guest-passes/${encodeURIComponent(id)}`),
      api('GET', `/guest-passes/${encodeURIComponent(id)}/checkins`),
    ]);
    const detail = byId('detail');
    detail.hidden = false;
    showFormError('detail-error', '');
    if (passRes.status !== 200) {
      detailPass = null;
      byId('detail-title').textContent = 'Guest pass';
      byId('detail-facts').replaceChildren();
      byId('detail-visits').replaceChildren();
      byId('detail-cancel').hidden = true;
      showFormError('detail-error', problemText(passRes));
      byId('detail-title').focus();
      return;
    }
    const pass = passRes.body;
    detailPass = pass;
    for (const row of byId('today-rows').children) {
      if (row.dataset.guestPassId === id) row.setAttribute('aria-current', 'true');
      else row.removeAttribute('aria-current');
    }
    byId('detail-title').textContent = guestName(pass);
    const facts = [
      ['Status', STATUS_TEXT[pass.status] || pass.status],
      ['Valid', showPeriod(pass.validFrom, pass.validUntil)],
      ['Check-in code', pass.checkinCode],
      ['Email', pass.email],
      ['Phone', pass.phone || '—'],
      ['Location', pass.locationId],
      ['Created', showDate(pass.createdAt)],
    ];
    if (pass.cancelledAt) facts.push(['Cancelled', showDate(pass.cancelledAt)]);
    byId('detail-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', { textContent: k }), el('dd', { textContent: v })]));
    const visits = visitsRes.status === 200 ? visitsRes.body.checkins : [];
    byId('detail-visits').replaceChildren(...visits.map((c) => el('li', { textContent: `${showDate(c.checkedInAt)} at ${c.locationId}` })));
    byId('detail-visits-empty').hidden = visits.length > 0 || visitsRes.status !== 200;
    if (visitsRes.status !== 200) showFormError('detail-error', problemText(visitsRes));
    byId('detail-cancel').hidden = pass.status === 'CANCELLED';
    byId('detail-title').focus();
  }

  function askCancel() {
    if (!detailPass) return;
    byId('confirm-text').textContent =
      `${guestName(detailPass)} (${detailPass.email}) will no longer be able to check in. The pass and its visits are kept.`;
    byId('confirm-cancel').showModal();
    byId('confirm-keep').focus();
  }

  async function confirmCancel() {
    const dialog = byId('confirm-cancel');
    const pass = detailPass;
    dialog.close();
    if (!pass) return;
    const res = await api('DELETE', `/guest-passes/${encodeURIComponent(pass.guestPassId)}`);
    if (res.status === 204) {
      announce(`Guest pass of ${guestName(pass)} cancelled.`);
      await openDetail(pass.guestPassId);
      loadToday();
    } else {
      showFormError('detail-error', problemText(res));
      byId('detail-cancel').focus();
    }
  }

  // ---- New guest ----

  const NEW_FIELDS = ['firstName', 'lastName', 'email', 'phone', 'validFrom', 'validUntil'];

  function resetNewForm() {
    const form = byId('new-form');
    form.reset();
    clearFieldErrors();
    const from = new Date();
    from.setSeconds(0, 0);
    const until = new Date(from.getTime() + 24 * 3600 * 1000);
    form.elements.namedItem('validFrom').value = localInputValue(from);
    form.elements.namedItem('validUntil').value = localInputValue(until);
  }

  function clearFieldErrors() {
    for (const name of NEW_FIELDS) setFieldError(name, null);
    showFormError('new-error', '');
  }

  function setFieldError(name, reason) {
    const input = byId(`new-${name}`);
    const message = byId(`new-${name}-error`);
    if (reason) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
    message.dataset.reason = reason || '';
    message.textContent = reason ? (FIELD_REASON_TEXT[name] || {})[reason] || REASON_TEXT[reason] || reason : '';
    message.hidden = !reason;
  }

  async function createPass(event) {
    event.preventDefault();
    const form = byId('new-form');
    const value = (name) => form.elements.namedItem(name).value;
    const body = { locationId: session.locationId };
    for (const name of ['firstName', 'lastName', 'email']) body[name] = value(name);
    if (value('phone').trim()) body.phone = value('phone').trim();
    for (const name of ['validFrom', 'validUntil']) {
      // An empty or unparsable picker is left out: the API names it `missing`.
      const local = value(name);
      const date = local ? new Date(local) : null;
      if (date && !Number.isNaN(date.getTime())) body[name] = toUtc(date);
    }
    clearFieldErrors();
    const submit = byId('new-submit');
    submit.disabled = true;
    const res = await api('POST', '/guest-passes', { body });
    submit.disabled = false;
    if (res.status === 201) {
      showNewPass(res.body);
      return;
    }
    if (res.status === 400 && res.body && res.body.errors) {
      const other = [];
      let first = null;
      for (const [name, reason] of Object.entries(res.body.errors)) {
        if (NEW_FIELDS.includes(name)) {
          setFieldError(name, reason);
          first = first || name;
        } else {
          other.push(`${name}: ${reason}`);
        }
      }
      showFormError('new-error', other.length ? `The server refused: ${other.join(', ')}.` : 'Please correct the fields marked below.');
      const count = Object.keys(res.body.errors).length;
      announce(`${count} field${count === 1 ? '' : 's'} to correct.`);
      if (first) byId(`new-${NEW_FIELDS.find((n) => n in res.body.errors)}`).focus();
      return;
    }
    if (res.status === 422 && res.body && res.body.reason === 'guestPassAlreadyCreated') {
      showFormError('new-error', 'This person already has a pass at this location for an overlapping period.');
      byId('new-email').focus();
      return;
    }
    showFormError('new-error', problemText(res));
  }

  function showNewPass(pass) {
    const card = byId('new-pass');
    byId('new-pass-name').textContent = guestName(pass);
    const code = byId('new-pass-code');
    code.textContent = pass.checkinCode;
    code.dataset.checkinCode = pass.checkinCode;
    card.dataset.guestPassId = pass.guestPassId;
    byId('new-pass-validity').textContent = `Valid ${showPeriod(pass.validFrom, pass.validUntil)}`;
    const qr = byId('new-pass-qr');
    try {
      // The code alone: what a scanner at the door types, before its Enter.
      const symbol = window.GuestpassQr.encodeText(pass.checkinCode, 'M');
      qr.replaceChildren(window.GuestpassQr.toSvg(symbol, `QR code of check-in code ${pass.checkinCode}`));
    } catch (error) {
      qr.replaceChildren(el('p', { className: 'hint', textContent: 'No QR code: use the code below.' }));
    }
    card.hidden = false;
    resetNewForm();
    announce(`Guest pass created for ${guestName(pass)}. Check-in code ${pass.checkinCode.split('').join(' ')}.`);
    byId('new-pass-name').focus();
  }

  // ---- Start ----

  function wire() {
    byId('signin-form').addEventListener('submit', signIn);
    byId('door-form').addEventListener('submit', checkIn);
    byId('new-form').addEventListener('submit', createPass);
    byId('sign-out').addEventListener('click', signOut);
    for (const button of document.querySelectorAll('button.nav')) {
      button.addEventListener('click', () => show(button.dataset.screen));
    }
    byId('today-refresh').addEventListener('click', loadToday);
    byId('detail-close').addEventListener('click', () => {
      byId('detail').hidden = true;
      detailPass = null;
      for (const row of byId('today-rows').children) row.removeAttribute('aria-current');
      byId('today-title').focus();
    });
    byId('detail-cancel').addEventListener('click', askCancel);
    byId('confirm-keep').addEventListener('click', () => {
      byId('confirm-cancel').close();
      byId('detail-cancel').focus();
    });
    byId('confirm-yes').addEventListener('click', confirmCancel);
    byId('new-pass-print').addEventListener('click', () => window.print());
    byId('new-pass-another').addEventListener('click', () => {
      byId('new-pass').hidden = true;
      resetNewForm();
      byId('new-firstName').focus();
    });
    document.addEventListener('keydown', redirectTyping);
    // Focus that falls to nothing (a click on the page, the window coming
    // back) returns to the code field while the door is shown.
    document.addEventListener('focusout', () => {
      window.setTimeout(() => {
        if (document.activeElement === document.body || document.activeElement === null) focusDoor();
      }, 0);
    });
    document.addEventListener('pointerup', () => {
      window.setTimeout(() => {
        if (document.activeElement === document.body) focusDoor();
      }, 0);
    });
    window.addEventListener('focus', focusDoor);
  }

  async function start() {
    wire();
    let res;
    try {
      res = await fetch('config.json', { cache: 'no-store', credentials: 'omit' });
      config = await res.json();
    } catch (error) {
      byId('screen-loading').replaceChildren(el('p', { className: 'form-error', textContent: 'Cannot load the desk configuration. Reload the page.' }));
      return;
    }
    for (const fieldset of document.querySelectorAll('#signin-form fieldset[data-level]')) {
      fieldset.hidden = !config.accessLevels.includes(fieldset.dataset.level);
    }
    for (const node of document.querySelectorAll('.tz')) node.textContent = `(${timeZone})`;
    byId('tz-note').textContent = `Times are shown in ${timeZone}.`;
    const saved = loadSession();
    if (saved) {
      setSession(saved);
      show('door');
    } else {
      show('signin');
    }
  }

  // Pure helpers, for the browser tests.
  window.GuestpassDesk = Object.freeze({ normalizeCode, toUtc });

  start();
})();
