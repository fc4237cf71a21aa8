// pyflare Local Explorer: a small page over the explorer's JSON API (no framework, no build).
// Every value from the worker is put in the page as text (textContent), never as HTML, so it
// is shown literally, exactly as stored.

const API = "/cdn-cgi/local/explorer/api";
const POLL_MS = 1000;
const HISTORY = 120; // chart points kept per queue (two minutes at one poll a second)

const state = {
  worker: null,
  snapshot: null,
  last: 0,
  invocations: new Map(), // id -> summary
  history: new Map(), // queue -> [{t, depth, dlq, rate}]
  route: [],
  refreshers: [],
  filters: { kind: "", outcome: "" },
};

// -- helpers -------------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "style") el.style.cssText = value; // CSSOM: allowed by the page's CSP
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// append / replaceChildren without the nulls that conditional parts leave.
function kids(children) {
  return children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false);
}

function put(el, ...children) {
  el.append(...kids(children));
}

function fill(el, ...children) {
  el.replaceChildren(...kids(children));
}

function svg(tag, attrs) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) el.setAttribute(key, value);
  return el;
}

async function api(method, path, body, options = {}) {
  const init = { method, headers: { ...(options.headers || {}) } };
  if (body !== undefined) {
    if (options.raw) init.body = body;
    else {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
  }
  const response = await fetch(API + path, init);
  const type = response.headers.get("content-type") || "";
  if (!type.startsWith("application/json")) {
    if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
    return response;
  }
  const payload = await response.json();
  if (!payload.success) {
    const message = (payload.errors || []).map((e) => e.message).join("; ");
    throw new Error(message || `${response.status} ${response.statusText}`);
  }
  return options.envelope ? payload : payload.result;
}

function enc(part) {
  return encodeURIComponent(part).replace(/\./g, "%2E");
}

function toast(message, bad = false) {
  const el = document.querySelector(".toast");
  el.textContent = message;
  el.className = bad ? "toast bad" : "toast";
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, bad ? 7000 : 2500);
}

async function act(label, fn) {
  try {
    const result = await fn();
    if (label) toast(label);
    return result;
  } catch (error) {
    toast(error.message, true);
    return undefined;
  }
}

function time(value) {
  if (value === null || value === undefined) return "";
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return date.toLocaleTimeString([], { hour12: false }) + "." + String(date.getMilliseconds()).padStart(3, "0");
}

function ms(value) {
  if (value === null || value === undefined) return "…";
  return value < 10 ? `${value.toFixed(2)} ms` : `${Math.round(value)} ms`;
}

function pct(value) {
  return `${Math.round(value * 1000) / 10}%`;
}

// A value as stored: JSON text, a string, null; never interpreted.
function literal(value, cls = "literal") {
  if (value === null || value === undefined) return h("span", { class: "null" }, "NULL");
  if (typeof value === "object") return h("span", { class: cls }, JSON.stringify(value));
  return h("span", { class: cls }, String(value));
}

// Text the page made (a time, a count): never wrapped.
function plain(text) {
  return h("span", { class: "nowrap" }, text);
}

function stat(label, value, testid, alert = false) {
  return h("div", { class: alert ? "stat alert" : "stat" },
    h("div", { class: "v", "data-testid": testid }, String(value)),
    h("div", { class: "k" }, label));
}

function pill(text, cls) {
  return h("span", { class: `pill ${cls || ""}` }, text);
}

function table(columns, rows, options = {}) {
  const head = h("tr", {}, columns.map((c) => h("th", {}, c)));
  const body = rows.map((row, i) => {
    const tr = h("tr", { class: options.onclick ? "clickable" : "", "data-testid": options.rowTestid },
      row.map((cell) => h("td", {}, cell instanceof Node ? cell : literal(cell))));
    if (options.onclick) tr.addEventListener("click", () => options.onclick(i, tr));
    return tr;
  });
  return h("div", { class: "tablewrap" }, h("table", { "data-testid": options.testid }, h("thead", {}, head), h("tbody", {}, body)));
}

// -- navigation ----------------------------------------------------------------------------

const SECTION_ROUTES = { queues: "queues", d1: "d1", kv: "kv", r2: "r2", durable_objects: "do", ai: "ai" };

function renderNav() {
  const nav = document.querySelector(".side");
  const current = location.hash || "#/";
  const link = (href, label, badge, badgeClass, testid) => {
    const a = h("a", { href, class: current === href ? "active" : "", "data-testid": testid }, h("span", {}, label));
    if (badge !== undefined && badge !== null) put(a, h("span", { class: `badge ${badgeClass || ""}` }, String(badge)));
    return a;
  };
  const items = [h("h3", {}, "Worker"), link("#/", "Overview", null, null, "nav-overview"),
    link("#/invocations", "Invocations", state.invocations.size || null, null, "nav-invocations")];
  const worker = state.worker;
  const queues = new Map((state.snapshot?.live?.queues || []).map((q) => [q.queue_name, q]));
  for (const section of worker?.sections || []) {
    items.push(h("h3", {}, section.title));
    for (const item of worker.bindings[section.type]) {
      const route = SECTION_ROUTES[section.type] || section.type;
      let badge = null;
      let cls = "";
      if (section.type === "queues" && queues.has(item.id)) {
        const q = queues.get(item.id);
        badge = q.depth;
        if (q.dead_letter_sources.length && q.depth) cls = "alert";
      }
      items.push(link(`#/${route}/${enc(item.id)}`, item.name, badge, cls, `nav-${route}-${item.id}`));
    }
  }
  fill(nav, ...items);
}

function route() {
  const parts = (location.hash || "#/").slice(2).split("/").filter(Boolean).map(decodeURIComponent);
  state.route = parts;
  state.refreshers = [];
  renderNav();
  const content = document.querySelector(".content");
  const [section, ...rest] = parts;
  const pages = { "": overview, invocations, queues: queuePage, d1: d1Page, kv: kvPage, r2: r2Page, do: doPage, ai: aiPage };
  const page = pages[section || ""];
  fill(content);
  if (!page) {
    put(content, h("p", {}, "No such page."));
    return;
  }
  Promise.resolve(page(content, ...rest)).catch((error) => {
    put(content, h("pre", { class: "error" }, error.message));
  });
}

// -- live updates --------------------------------------------------------------------------

async function poll() {
  try {
    const snapshot = await api("GET", `/local/snapshot?after=${state.last}`);
    state.snapshot = snapshot;
    state.last = snapshot.last;
    for (const inv of snapshot.invocations) state.invocations.set(inv.id, inv);
    while (state.invocations.size > 500) state.invocations.delete(state.invocations.keys().next().value);
    for (const q of snapshot.live.queues || []) {
      const series = state.history.get(q.queue_name) || [];
      series.push({ t: snapshot.time, depth: q.depth, dlq: q.dlq_depth, rate: q.stats.processing_rate });
      if (series.length > HISTORY) series.shift();
      state.history.set(q.queue_name, series);
    }
    const status = document.querySelector(".status");
    status.textContent = snapshot.loaded ? "worker loaded" : "worker failed to load";
    status.className = snapshot.loaded ? "status ok" : "status bad";
    status.title = snapshot.load_error || "";
    document.querySelector("[data-testid=tracing-toggle]").checked = snapshot.tracing;
    renderNav();
    for (const refresh of state.refreshers) refresh(snapshot);
  } catch (error) {
    const status = document.querySelector(".status");
    status.textContent = "server unreachable";
    status.className = "status bad";
  }
}

function onLive(refresh) {
  state.refreshers.push(refresh);
  if (state.snapshot) refresh(state.snapshot);
}

// -- overview ------------------------------------------------------------------------------

function overview(content) {
  const worker = state.worker;
  put(content, 
    h("h1", {}, worker?.name || "Worker"),
    h("p", { class: "sub mono" }, worker ? worker.main : ""),
  );
  if (worker?.load_error) put(content, h("pre", { class: "error" }, worker.load_error));
  const queueCards = h("div", { class: "cards", "data-testid": "queue-cards" });
  const recent = h("div");
  put(content, h("h2", {}, "Queues"), queueCards, h("h2", {}, "Crons"), cronList(worker), h("h2", {}, "Recent invocations"), recent);
  onLive((snapshot) => {
    const queues = snapshot.live.queues || [];
    fill(queueCards, ...(queues.length ? queues.map(queueCard) : [h("p", { class: "muted" }, "No queues.")]));
    fill(recent, invocationTable([...state.invocations.values()].reverse().slice(0, 10)));
  });
}

function queueCard(q) {
  const s = q.stats;
  return h("div", { class: "card" },
    h("div", { class: "row spread" }, h("h3", {}, h("a", { href: `#/queues/${enc(q.queue_name)}` }, q.queue_name)),
      q.settings.delivery_paused ? pill("paused", "warn") : q.consumer ? pill("consumed", "ok") : pill("no consumer")),
    h("div", { class: "grid" },
      stat("depth", q.depth), stat("in flight", s.in_flight),
      stat("acked/min", Math.round(s.processing_rate)),
      q.dead_letter_queue ? stat(`in DLQ`, q.dlq_depth ?? 0, null, (q.dlq_depth || 0) > 0) : stat("failure", pct(s.failure_rate))));
}

function cronList(worker) {
  const crons = worker?.crons || [];
  const box = h("div", { class: "row", "data-testid": "crons" });
  if (!crons.length) put(box, h("span", { class: "muted" }, "No [triggers] crons in the config. "));
  for (const cron of crons) {
    put(box, h("span", { class: "panel row" }, h("code", {}, cron.cron),
      h("span", { class: "muted" }, cron.next ? `next ${time(cron.next)}` : ""),
      h("button", {
        class: "primary", "data-testid": `fire-${cron.cron}`,
        onclick: () => act(null, async () => {
          const result = await api("POST", "/local/scheduled", { cron: cron.cron });
          toast(result.outcome === "ok" ? `Ran scheduled event for ${cron.cron}` : `scheduled() raised: ${result.error}`, result.outcome !== "ok");
        }),
      }, "Fire")));
  }
  const custom = h("input", { class: "mono", value: "* * * * *", size: 12, "aria-label": "cron" });
  put(box, h("span", { class: "panel row" }, custom, h("button", {
    onclick: () => act(null, async () => {
      const result = await api("POST", "/local/scheduled", { cron: custom.value });
      toast(result.outcome === "ok" ? "Ran scheduled event" : `scheduled() raised: ${result.error}`, result.outcome !== "ok");
    }),
  }, "Fire any cron")));
  return box;
}

// -- invocations ---------------------------------------------------------------------------

function invocationTable(list, onpick) {
  if (!list.length) return h("p", { class: "muted" }, state.snapshot?.tracing === false ? "Recording is off." : "No invocations yet.");
  return table(["", "kind", "what", "started", "duration", "outcome", "calls", "logs"], list.map((inv) => [
    h("span", { class: "muted" }, `#${inv.id}`),
    pill(inv.kind, "kind"),
    h("span", { class: "mono" }, inv.label),
    plain(time(inv.started)),
    plain(ms(inv.duration_ms)),
    h("span", {}, pill(inv.outcome, inv.outcome), inv.status ? ` ${inv.status}` : ""),
    inv.calls, inv.logs,
  ]), { testid: "invocations", rowTestid: "invocation-row", onclick: (i) => { location.hash = `#/invocations/${list[i].id}`; } });
}

function invocations(content, selected) {
  const kind = h("select", { "data-testid": "filter-kind" }, ["", "fetch", "queue", "scheduled", "alarm", "ai"].map((k) => h("option", { value: k, selected: state.filters.kind === k }, k || "every kind")));
  const outcome = h("select", { "data-testid": "filter-outcome" }, ["", "ok", "exception", "running"].map((k) => h("option", { value: k, selected: state.filters.outcome === k }, k || "every outcome")));
  const list = h("div");
  const detail = h("div", { "data-testid": "invocation-detail" });
  const draw = () => {
    const shown = [...state.invocations.values()].reverse().filter((i) =>
      (!state.filters.kind || i.kind === state.filters.kind) && (!state.filters.outcome || i.outcome === state.filters.outcome));
    fill(list, invocationTable(shown));
  };
  kind.addEventListener("change", () => { state.filters.kind = kind.value; draw(); });
  outcome.addEventListener("change", () => { state.filters.outcome = outcome.value; draw(); });
  put(content, h("h1", {}, "Invocations"),
    h("p", { class: "sub" }, "Every fetch, queue batch, scheduled run, alarm and AI call while recording, with the binding calls it made and its log lines."),
    h("div", { class: "row" }, kind, outcome,
      h("button", { onclick: () => act("Cleared", async () => { await api("DELETE", "/local/invocations"); state.invocations.clear(); draw(); }) }, "Clear")),
    detail, h("h2", {}, "All"), list);
  onLive(draw);
  if (selected) showInvocation(detail, selected);
}

async function showInvocation(box, id) {
  const inv = await api("GET", `/local/invocations/${enc(id)}`);
  const total = Math.max(inv.duration_ms || 0, ...inv.binding_calls.map((c) => c.start_ms + (c.duration_ms || 0)), 0.001);
  const calls = inv.binding_calls.map((c) => [
    h("span", { class: "mono", style: `padding-left:${c.depth * 16}px` }, c.binding), h("span", { class: "mono" }, c.method),
    h("span", { class: "literal" }, c.detail), h("span", { class: "nowrap" }, ms(c.duration_ms)),
    h("div", { class: "waterfall" }, h("span", { style: `left:${(100 * c.start_ms) / total}%;width:${(100 * (c.duration_ms || 0)) / total}%` })),
    c.error ? h("span", { class: "pill bad" }, c.error) : "",
  ]);
  const logs = inv.log_lines.map((l) => h("div", { class: `line ${l.level}` }, h("span", { class: "t" }, `+${ms(l.at_ms)}`), l.message));
  fill(box, h("div", { class: "panel" },
    h("div", { class: "row spread" }, h("h2", { style: "margin:0" }, `#${inv.id} `, pill(inv.kind, "kind"), " ", h("span", { class: "mono" }, inv.label)),
      h("span", {}, pill(inv.outcome, inv.outcome), inv.status ? ` HTTP ${inv.status}` : "", ` · ${ms(inv.duration_ms)} · ${time(inv.started)}`)),
    inv.parent ? h("p", {}, "Called from ", h("a", { href: `#/invocations/${inv.parent}` }, `#${inv.parent}`)) : null,
    inv.kind === "queue" && inv.detail.messages ? h("p", { class: "mono" }, inv.detail.messages.map((m) => `${m.id} (attempt ${m.attempts})`).join(", "),
      inv.detail.retried ? h("span", { class: "muted" }, ` · acked ${inv.detail.acked.length}, retried ${inv.detail.retried.length}`) : "") : null,
    inv.error ? h("pre", { class: "error", "data-testid": "invocation-error" }, inv.error) : null,
    h("h2", {}, `Binding calls (${inv.binding_calls.length}${inv.dropped_calls ? ` + ${inv.dropped_calls} not kept` : ""})`),
    calls.length ? table(["binding", "method", "detail", "time", "", ""], calls, { testid: "binding-calls" }) : h("p", { class: "muted" }, "None."),
    h("h2", {}, `Log lines (${inv.log_lines.length})`),
    logs.length ? h("div", { class: "logs", "data-testid": "log-lines" }, logs) : h("p", { class: "muted" }, "None.")));
}

// -- queues --------------------------------------------------------------------------------

function chart(series) {
  const W = 600, H = 120, P = 18;
  const box = svg("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", "data-testid": "queue-chart", role: "img" });
  const max = Math.max(1, ...series.map((p) => Math.max(p.depth, p.dlq || 0, p.rate)));
  for (const f of [0, 0.5, 1]) {
    const y = H - P - f * (H - 2 * P);
    put(box, svg("line", { class: "grid-line", x1: 0, x2: W, y1: y, y2: y }));
    const label = svg("text", { x: 4, y: y - 2 });
    label.textContent = String(Math.round(f * max * 10) / 10);
    put(box, label);
  }
  const line = (key, cls) => {
    if (!series.length) return;
    const points = series.map((p, i) => {
      const x = series.length === 1 ? W : (i / (HISTORY - 1)) * W + (W - ((series.length - 1) / (HISTORY - 1)) * W);
      const y = H - P - ((p[key] || 0) / max) * (H - 2 * P);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    put(box, svg("polyline", { class: cls, points: points.join(" ") }));
  };
  line("rate", "rate");
  line("dlq", "dlq");
  line("depth", "depth");
  return box;
}

async function queuePage(content, name) {
  const head = h("div");
  const stats = h("div", { class: "grid", "data-testid": "queue-stats" });
  const graph = h("div");
  const actions = h("div", { class: "row" });
  const messages = h("div", { "data-testid": "queue-messages" });
  const send = sendForm(name);
  put(content, head, stats, h("h2", {}, "Last two minutes"), graph,
    h("div", { class: "legend" }, h("span", {}, h("i", { style: "background:#f38020" }), "depth"), h("span", {}, h("i", { style: "background:#c8323b" }), "in its DLQ"), h("span", {}, h("i", { style: "background:#3a7bd5" }), "acked per minute")),
    h("h2", {}, "Actions"), actions, h("h2", {}, "Messages"), messages, h("h2", {}, "Send a test message"), send);
  let q = null;
  const drawHead = () => {
    fill(head, h("h1", { "data-testid": "queue-title" }, name),
      h("p", { class: "sub" },
        q.consumer ? `consumer: batches of ${q.consumer.max_batch_size}, ${q.consumer.max_batch_timeout} s timeout, ${q.consumer.max_retries} retries` : "no consumer in this worker",
        q.dead_letter_queue ? h("span", {}, " · dead letter queue ", h("a", { href: `#/queues/${enc(q.dead_letter_queue)}` }, q.dead_letter_queue)) : "",
        q.dead_letter_sources.length ? h("span", {}, " · dead letter queue of ", q.dead_letter_sources.map((s, i) => [i ? ", " : "", h("a", { href: `#/queues/${enc(s)}` }, s)])) : "",
        q.producers.length ? ` · producers: ${q.producers.join(", ")}` : ""));
  };
  const drawStats = () => {
    const s = q.stats;
    fill(stats, 
      stat("pending", s.pending, "stat-pending"), stat("delayed", s.delayed, "stat-delayed"),
      stat("in flight", s.in_flight, "stat-in_flight"), stat("acked", s.acked, "stat-acked"),
      stat("retried", s.retried, "stat-retried"), stat("dead-lettered", s.dead_lettered, "stat-dead_lettered"),
      stat("dropped", s.dropped, "stat-dropped"), stat("acked / min", Math.round(s.processing_rate * 10) / 10, "stat-processing_rate"),
      stat("failure rate", pct(s.failure_rate), "stat-failure_rate"), stat("retry rate", pct(s.retry_rate), "stat-retry_rate"),
      ...(q.dead_letter_queue ? [stat(`in ${q.dead_letter_queue}`, q.dlq_depth ?? 0, "stat-dlq_depth", (q.dlq_depth || 0) > 0)] : []));
    fill(graph, chart(state.history.get(name) || []));
  };
  const drawActions = () => {
    const paused = q.settings.delivery_paused;
    const isDlq = q.dead_letter_sources.length > 0;
    fill(actions, 
      h("button", {
        "data-testid": paused ? "resume" : "pause",
        onclick: () => act(paused ? "Delivery resumed" : "Delivery paused", async () => {
          q = await api("PATCH", `/queues/${enc(name)}`, { settings: { delivery_paused: !paused } });
          drawActions();
        }),
      }, paused ? "Resume delivery" : "Pause delivery"),
      isDlq ? h("button", {
        class: "primary", "data-testid": "redrive-all",
        onclick: () => act(null, async () => {
          const r = await api("POST", `/queues/${enc(name)}/redrive`, {});
          toast(`Redrove ${r.redriven} message(s) to ${r.to}`);
          refreshMessages();
        }),
      }, `Redrive all to ${q.dead_letter_sources.join(" / ")}`) : null,
      h("button", {
        class: "danger", "data-testid": "purge",
        onclick: () => { if (confirm(`Delete every waiting message of ${name}?`)) act(null, async () => { const r = await api("POST", `/queues/${enc(name)}/purge`, {}); toast(`Purged ${r.purged} message(s)`); refreshMessages(); }); },
      }, "Purge"),
      paused ? pill("delivery paused", "warn") : null);
  };
  const refreshMessages = async () => {
    const payload = await api("GET", `/queues/${enc(name)}/messages?limit=200`, undefined, { envelope: true });
    const isDlq = q && q.dead_letter_sources.length > 0;
    const rows = payload.result.map((m) => [
      h("span", { class: "mono" }, m.id), pill(m.state, m.state === "in_flight" ? "running" : ""), String(m.attempts),
      plain(time(m.timestamp)), plain(m.next_delivery ? time(m.next_delivery) : ""), plain(m.content_type),
      h("span", { class: "literal", "data-testid": "message-body" }, m.body.text),
      isDlq && m.state !== "in_flight" ? h("button", {
        "data-testid": "redrive-one",
        onclick: (event) => { event.stopPropagation(); act("Redriven", async () => { await api("POST", `/queues/${enc(name)}/redrive`, { message_ids: [m.id] }); refreshMessages(); }); },
      }, "Redrive") : "",
    ]);
    fill(messages, rows.length
      ? h("div", {}, h("p", { class: "muted" }, `${payload.result_info.total} message(s)`), table(["id", "state", "attempts", "sent", "next delivery", "type", "body", ""], rows, { testid: "messages", rowTestid: "message-row" }))
      : h("p", { class: "muted", "data-testid": "no-messages" }, "No messages."));
  };
  q = await api("GET", `/queues/${enc(name)}`);
  drawHead(); drawStats(); drawActions(); refreshMessages();
  let tick = 0;
  onLive((snapshot) => {
    const found = (snapshot.live.queues || []).find((x) => x.queue_name === name);
    if (!found) return;
    q = found;
    drawStats();
    if (tick++ % 1 === 0) refreshMessages();
    const button = actions.querySelector("[data-testid=pause],[data-testid=resume]");
    if (button && (button.dataset.testid === "resume") !== q.settings.delivery_paused) drawActions();
  });
}

function sendForm(name) {
  const body = h("textarea", { class: "mono", "data-testid": "send-body", rows: 3 }, '{"hello": "world"}');
  const type = h("select", { "data-testid": "send-type" }, ["json", "text", "bytes", "v8"].map((t) => h("option", { value: t }, t)));
  const delay = h("input", { type: "number", min: 0, max: 86400, value: 0, style: "width:90px", "data-testid": "send-delay" });
  return h("div", { class: "panel" }, body, h("div", { class: "row", style: "margin-top:8px" },
    h("label", { class: "field" }, "content type", type), h("label", { class: "field" }, "delay (s)", delay),
    h("button", {
      class: "primary", "data-testid": "send",
      onclick: () => act("Sent", async () => {
        let value = body.value;
        if (type.value === "json" || type.value === "v8") {
          try { value = JSON.parse(body.value); } catch (error) { throw new Error(`The body is not JSON: ${error.message}`); }
        }
        await api("POST", `/queues/${enc(name)}/messages`, { body: value, content_type: type.value, delay_seconds: Number(delay.value) || 0 });
      }),
    }, "Send")));
}

// -- D1 ------------------------------------------------------------------------------------

async function d1Page(content, id, table_) {
  const [tables] = await Promise.all([api("GET", `/d1/database/${enc(id)}/tables`)]);
  const db = state.worker.bindings.d1.find((d) => d.id === id || d.binding === id) || { name: id, binding: "" };
  const list = h("div", { class: "list", "data-testid": "d1-tables" }, tables.map((t) =>
    h("a", { href: `#/d1/${enc(id)}/${enc(t.name)}`, class: t.name === table_ ? "selected" : "" }, `${t.name} `, h("span", { class: "muted" }, `${t.rows}`))));
  if (!tables.length) put(list, h("p", { class: "muted", style: "padding:8px" }, "No tables (apply the migrations?)"));
  const main = h("div");
  put(content, h("h1", {}, db.name), h("p", { class: "sub" }, `binding ${db.binding} · id `, h("code", {}, id)),
    h("div", { class: "split" }, list, main), h("h2", {}, "SQL console"), sqlConsole(id));
  if (table_) {
    const t = tables.find((x) => x.name === table_);
    if (t) await tableView(main, id, t);
  } else {
    put(main, h("p", { class: "muted" }, "Pick a table to see its schema and rows."));
  }
}

async function tableView(box, id, t) {
  let offset = 0;
  const limit = 50;
  const rowsBox = h("div");
  const pager = h("div", { class: "row" });
  const load = async () => {
    const payload = await api("GET", `/d1/database/${enc(id)}/tables/${enc(t.name)}/rows?limit=${limit}&offset=${offset}`, undefined, { envelope: true });
    const info = payload.result_info;
    fill(rowsBox, table(payload.result.columns, payload.result.rows, { testid: "d1-rows" }));
    fill(pager, 
      h("button", { disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - limit); load(); } }, "‹ Previous"),
      h("span", { class: "muted" }, `rows ${info.total ? offset + 1 : 0}–${offset + info.count} of ${info.total}`),
      h("button", { disabled: offset + info.count >= info.total, onclick: () => { offset += limit; load(); } }, "Next ›"));
  };
  put(box, h("h2", { style: "margin-top:0" }, t.name, " ", pill(t.type)),
    table(["column", "type", "not null", "default", "primary key"], t.columns.map((c) => [h("code", {}, c.name), c.type, c.notnull ? "yes" : "", c.default, c.pk ? String(c.pk) : ""]), { testid: "d1-schema" }),
    t.sql ? h("pre", { class: "literal panel" }, t.sql) : null, h("h2", {}, "Rows"), pager, rowsBox);
  await load();
}

function sqlConsole(id) {
  const sql = h("textarea", { class: "mono", "data-testid": "sql-input", spellcheck: "false" }, "SELECT * FROM sqlite_master LIMIT 10;");
  const out = h("div", { "data-testid": "sql-result" });
  const run = () => act(null, async () => {
    fill(out, h("p", { class: "muted" }, "Running…"));
    try {
      const results = await api("POST", `/d1/database/${enc(id)}/raw`, { sql: sql.value });
      fill(out, ...results.map((r, i) => h("div", {},
        h("p", { class: "muted" }, results.length > 1 ? `statement ${i + 1}: ` : "",
          `${r.results.rows.length} row(s) · ${r.meta.changes} change(s) · ${ms(r.meta.duration)} · rows read ${r.meta.rows_read}, written ${r.meta.rows_written}`),
        r.results.columns.length ? table(r.results.columns, r.results.rows, { testid: "sql-rows" }) : null)));
    } catch (error) {
      fill(out, h("pre", { class: "error", "data-testid": "sql-error" }, error.message));
    }
  });
  sql.addEventListener("keydown", (event) => { if ((event.ctrlKey || event.metaKey) && event.key === "Enter") run(); });
  return h("div", { class: "panel" }, sql, h("div", { class: "row", style: "margin:8px 0" },
    h("button", { class: "primary", "data-testid": "sql-run", onclick: run }, "Run"),
    h("span", { class: "muted" }, "Ctrl+Enter · runs through the D1 binding: D1's rules and results, shown as D1 returns them")), out);
}

// -- KV ------------------------------------------------------------------------------------

async function kvPage(content, id, key) {
  const prefix = h("input", { placeholder: "prefix", class: "mono", "data-testid": "kv-prefix" });
  const list = h("div", { class: "list", "data-testid": "kv-keys" });
  const main = h("div");
  const load = async () => {
    const keys = await api("GET", `/storage/kv/namespaces/${enc(id)}/keys?prefix=${encodeURIComponent(prefix.value)}`);
    fill(list, ...keys.map((k) => h("a", { href: `#/kv/${enc(id)}/${enc(k.name)}`, class: k.name === key ? "selected" : "" }, k.name)));
    if (!keys.length) put(list, h("p", { class: "muted", style: "padding:8px" }, "No keys."));
  };
  prefix.addEventListener("input", load);
  put(content, h("h1", {}, `KV ${id}`), h("div", { class: "row" }, prefix), h("div", { class: "split", style: "margin-top:10px" }, list, main));
  await load();
  const keyInput = h("input", { class: "mono", value: key || "", placeholder: "key", "data-testid": "kv-key", size: 40 });
  const value = h("textarea", { class: "mono", "data-testid": "kv-value" });
  const metadata = h("input", { class: "mono", placeholder: "metadata (JSON)", "data-testid": "kv-metadata", size: 40 });
  const info = h("div");
  if (key) {
    const response = await fetch(`${API}/storage/kv/namespaces/${enc(id)}/values/${enc(key)}`);
    if (response.ok) {
      const bytes = new Uint8Array(await response.arrayBuffer());
      try { value.value = new TextDecoder("utf-8", { fatal: true }).decode(bytes); } catch { value.value = ""; put(info, h("p", { class: "muted" }, `${bytes.length} bytes, not UTF-8 text: download it to see it.`)); }
      const meta = await api("GET", `/storage/kv/namespaces/${enc(id)}/metadata/${enc(key)}`);
      if (meta !== null) metadata.value = JSON.stringify(meta);
      put(info, h("p", {}, h("a", { href: `${API}/storage/kv/namespaces/${enc(id)}/values/${enc(key)}`, download: key }, "Download the value")));
    }
  }
  put(main, h("div", { class: "panel" }, h("div", { class: "row" }, keyInput, metadata), h("div", { style: "margin:8px 0" }, value), info,
    h("div", { class: "row" },
      h("button", { class: "primary", "data-testid": "kv-save", onclick: () => act("Saved", async () => {
        const q = metadata.value.trim() ? `?metadata=${encodeURIComponent(metadata.value.trim())}` : "";
        await api("PUT", `/storage/kv/namespaces/${enc(id)}/values/${enc(keyInput.value)}${q}`, new TextEncoder().encode(value.value), { raw: true });
        location.hash = `#/kv/${enc(id)}/${enc(keyInput.value)}`;
        await load();
      }) }, "Save"),
      key ? h("button", { class: "danger", "data-testid": "kv-delete", onclick: () => act("Deleted", async () => {
        await api("DELETE", `/storage/kv/namespaces/${enc(id)}/values/${enc(key)}`);
        location.hash = `#/kv/${enc(id)}`;
      }) }, "Delete") : null)));
}

// -- R2 ------------------------------------------------------------------------------------

async function r2Page(content, bucket, ...keyParts) {
  const key = keyParts.join("/");
  const prefix = h("input", { placeholder: "prefix", class: "mono" });
  const list = h("div", { "data-testid": "r2-objects" });
  const detail = h("div");
  const load = async () => {
    const objects = await api("GET", `/r2/buckets/${enc(bucket)}/objects?prefix=${encodeURIComponent(prefix.value)}`);
    fill(list, objects.length ? table(["key", "size", "type", "uploaded", "etag"], objects.map((o) => [
      h("a", { href: `#/r2/${enc(bucket)}/${o.key.split("/").map(enc).join("/")}`, class: "mono" }, o.key), `${o.size} B`,
      o.http_metadata.contentType || "", time(o.uploaded), h("code", {}, o.etag)]), { testid: "r2-table" }) : h("p", { class: "muted" }, "No objects."));
  };
  prefix.addEventListener("input", load);
  const file = h("input", { type: "file", "data-testid": "r2-file" });
  const newKey = h("input", { class: "mono", placeholder: "key (default: the file's name)", size: 36, "data-testid": "r2-key" });
  const upload = h("div", { class: "panel row" }, file, newKey, h("button", {
    class: "primary", "data-testid": "r2-upload",
    onclick: () => act("Uploaded", async () => {
      const chosen = file.files[0];
      if (!chosen) throw new Error("Choose a file first");
      const target = newKey.value || chosen.name;
      await api("PUT", `/r2/buckets/${enc(bucket)}/objects/${target.split("/").map(enc).join("/")}`, chosen, { raw: true, headers: { "content-type": chosen.type || "application/octet-stream" } });
      await load();
    }),
  }, "Upload"));
  put(content, h("h1", {}, `R2 ${bucket}`), upload, h("div", { class: "row", style: "margin:10px 0" }, prefix), detail, list);
  await load();
  if (key) {
    const path = `/r2/buckets/${enc(bucket)}/objects/${key.split("/").map(enc).join("/")}`;
    const meta = await api("GET", path, undefined, { headers: { "cf-metadata-only": "true" } });
    put(detail, h("div", { class: "panel", "data-testid": "r2-detail" }, h("h2", { style: "margin-top:0" }, h("code", {}, meta.key)),
      table(["field", "value"], [["size", `${meta.size} bytes`], ["etag", meta.etag], ["version", meta.version], ["uploaded", meta.uploaded], ["storage class", meta.storage_class],
        ["HTTP metadata", meta.http_metadata], ["custom metadata", meta.custom_metadata]]),
      h("div", { class: "row", style: "margin-top:8px" }, h("a", { class: "button", href: API + path, download: key.split("/").pop() }, "Download"),
        h("button", { class: "danger", onclick: () => act("Deleted", async () => { await api("DELETE", path); location.hash = `#/r2/${enc(bucket)}`; }) }, "Delete"))));
  }
}

// -- Durable Objects -----------------------------------------------------------------------

async function doPage(content, ns, objectId) {
  const objects = await api("GET", `/workers/durable_objects/namespaces/${enc(ns)}/objects`);
  const list = h("div", { class: "list", "data-testid": "do-objects" }, objects.map((o) =>
    h("a", { href: `#/do/${enc(ns)}/${o.id}`, class: o.id === objectId ? "selected" : "", title: o.id }, o.name || o.id.slice(0, 16) + "…")));
  if (!objects.length) put(list, h("p", { class: "muted", style: "padding:8px" }, "No object has storage yet."));
  const main = h("div");
  put(content, h("h1", {}, `Durable Objects ${ns}`), h("div", { class: "split" }, list, main));
  if (!objectId) { put(main, h("p", { class: "muted" }, "Pick an object.")); return; }
  const base = `/workers/durable_objects/namespaces/${enc(ns)}/objects/${objectId}`;
  const info = await api("GET", base);
  const entries = await api("GET", `${base}/storage?limit=1000`);
  const key = h("input", { class: "mono", placeholder: "key", "data-testid": "do-key" });
  const value = h("input", { class: "mono", placeholder: "value (JSON)", size: 40, "data-testid": "do-value" });
  put(main, h("div", { class: "panel" }, h("h2", { style: "margin-top:0" }, info.name || "(unnamed)", " ", h("code", { class: "muted" }, info.id)),
    h("p", { class: "muted" }, `${info.keys} key(s) · ${info.size} bytes · alarm ${info.alarm ? time(info.alarm / 1000) : "none"}`)),
    h("h2", {}, "Key-value storage"),
    table(["key", "value", ""], entries.map((e) => [h("code", {}, e.key), h("span", { class: "literal" }, e.value.text),
      h("button", { class: "danger", onclick: () => act("Deleted", async () => { await api("DELETE", `${base}/storage/${enc(e.key)}`); route(); }) }, "Delete")]), { testid: "do-storage" }),
    h("div", { class: "row", style: "margin-top:8px" }, key, value, h("button", { class: "primary", onclick: () => act("Saved", async () => {
      let parsed;
      try { parsed = JSON.parse(value.value); } catch (error) { throw new Error(`The value is not JSON: ${error.message}`); }
      await api("PUT", `${base}/storage/${enc(key.value)}`, { value: parsed });
      route();
    }) }, "Put")),
    h("h2", {}, "SQL tables"),
    info.tables.length ? table(["table", "type", "rows"], info.tables.map((t) => [h("code", {}, t.name), t.type, t.rows])) : h("p", { class: "muted" }, "None."),
    h("h2", {}, "SQL"), doConsole(ns, objectId));
}

function doConsole(ns, objectId) {
  const sql = h("textarea", { class: "mono", spellcheck: "false" }, "SELECT name FROM sqlite_master");
  const out = h("div");
  return h("div", { class: "panel" }, sql, h("div", { class: "row", style: "margin:8px 0" }, h("button", { class: "primary", onclick: () => act(null, async () => {
    try {
      const [r] = await api("POST", `/workers/durable_objects/namespaces/${enc(ns)}/query`, { durable_object_id: objectId, queries: [{ sql: sql.value }] });
      fill(out, h("p", { class: "muted" }, `${r.rows.length} row(s) · rows read ${r.rows_read}, written ${r.rows_written}`), r.columns.length ? table(r.columns, r.rows) : "");
    } catch (error) {
      fill(out, h("pre", { class: "error" }, error.message));
    }
  }) }, "Run"), h("span", { class: "muted" }, "runs with ctx.storage.sql.exec inside the object")), out);
}

// -- Workers AI ----------------------------------------------------------------------------

async function aiPage(content, binding) {
  const list = h("div", { "data-testid": "ai-calls" });
  content.append(h("h1", {}, `Workers AI ${binding}`),
    h("p", { class: "sub" }, "Every env.AI.run call, newest first, as the binding logs it."), list);
  const draw = async () => {
    const payload = await api("GET", "/ai/calls?limit=200", undefined, { envelope: true });
    const info = payload.result_info;
    fill(list, h("p", { class: "muted" }, `${info.total} call(s), ${info.failed} failed · backend ${info.backend}`),
      payload.result.length ? table(["model", "inputs", "started", "duration", "outcome", "answered by"], payload.result.map((c) => [
        h("code", {}, c.model), h("span", { class: "literal" }, c.inputs), plain(time(c.started)), plain(ms(c.duration_ms)),
        h("span", {}, pill(c.outcome, c.outcome === "error" ? "bad" : c.outcome), c.error ? ` ${c.error}` : ""), c.answered_by,
      ])) : null);
  };
  await draw();
  let tick = 0;
  onLive(() => { if (++tick % 2 === 0) draw(); });
}

// -- start ---------------------------------------------------------------------------------

async function start() {
  document.querySelector("[data-testid=tracing-toggle]").addEventListener("change", (event) =>
    act(event.target.checked ? "Recording invocations" : "Recording stopped", () => api("PUT", "/local/tracing", { enabled: event.target.checked })));
  const [[worker]] = await Promise.all([api("GET", "/local/workers"), poll()]);
  state.worker = worker;
  document.querySelector("[data-testid=worker-name]").textContent = worker.name || "";
  window.addEventListener("hashchange", route);
  route();
  performance.mark("explorer-ready"); // the page shows the worker's data from here on
  setInterval(() => { if (!document.hidden) poll(); }, POLL_MS);
}

start().catch((error) => {
  fill(document.querySelector(".content"), h("pre", { class: "error" }, error.message));
});
