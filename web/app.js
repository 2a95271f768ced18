// The orders pages: a small client of the service's own API (same origin), no framework.
// Every value from the API goes into the page as text (h() never parses HTML).
"use strict";

const TOKEN_KEY = "orders.token";
const STATUSES = ["PENDING_RESERVING_STOCK", "PENDING_PAYMENT", "INVALID", "PAID", "PROCESSING", "PARTIALLY_SHIPPED",
  "SHIPPED", "DELIVERED", "CANCELLED", "RETURN_REQUESTED", "RETURNED"];
const CANCELLABLE = ["PENDING_RESERVING_STOCK", "PENDING_PAYMENT", "PAID", "PROCESSING"];
const ADMIN_TARGETS = ["PROCESSING", "DELIVERED", "CANCELLED"];

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "text") el.textContent = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// A control with its label beside it (not around it: a label holding a select would lend the
// select's options to the control's accessible name).
function field(text, control) {
  return h("div", { class: "field" }, h("label", { for: control.id }, text), control);
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs || {})) el.setAttribute(name, String(value));
  for (const child of children.flat()) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

function token() { return sessionStorage.getItem(TOKEN_KEY); }

// The token's claims, read for display and navigation only: the API checks the signature.
function claims() {
  const raw = token();
  if (!raw) return null;
  try {
    const part = raw.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part));
  } catch (_) { return null; }
}

function isAdmin() {
  const groups = (claims() || {})["cognito:groups"] || [];
  return (Array.isArray(groups) ? groups : String(groups).replace(/[\[\]]/g, "").split(/[ ,]+/)).includes("admin");
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.message)) || `HTTP ${status}`);
    this.status = status; this.body = body;
  }
}

async function api(method, path, body, headers) {
  const init = { method, headers: { authorization: `Bearer ${token()}`, ...(headers || {}) } };
  if (body !== undefined) { init.headers["content-type"] = "application/json"; init.body = JSON.stringify(body); }
  const response = await fetch(`/api/v1${path}`, init);
  const text = await response.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch (_) { parsed = text; }
  if (response.status === 401) { signOut("Your session has ended: sign in again."); throw new ApiError(401, parsed); }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

function say(text, error) {
  const box = document.getElementById("message");
  box.replaceChildren(text ? h("div", { class: error ? "error" : "" }, text) : "");
}

function fail(err) { say(err.message || String(err), true); }

const money = (amount, currency) => `${amount} ${currency || ""}`.trim();
const when = (iso) => iso ? new Date(iso).toLocaleString() : "";
const badge = (status) => h("span", { class: `badge ${status}` }, status.replace(/_/g, " "));
const orderName = (order) => order.order_number || order.id.slice(-8);

function statusSelect(name, value, withAny) {
  return h("select", { name, id: name },
    withAny ? h("option", { value: "" }, "Any status") : null,
    STATUSES.map((status) => h("option", { value: status, selected: status === value }, status.replace(/_/g, " "))));
}

function params(form) {
  const query = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    if (!value) continue;
    if (name === "from") query.set(name, `${value}T00:00:00Z`);
    else if (name === "to") query.set(name, `${value}T23:59:59Z`);
    else query.set(name, value);
  }
  return query;
}

// --- Sign in -------------------------------------------------------------------------------

function signInPage(main) {
  const form = h("form", { class: "card", onsubmit: (event) => {
    event.preventDefault();
    const value = form.elements.token.value.trim();
    if (value.split(".").length !== 3) { say("That is not a bearer token (three dot-separated parts).", true); return; }
    sessionStorage.setItem(TOKEN_KEY, value);
    say("");
    location.hash = "#/orders";
    render();
  } },
  field("Bearer token", h("textarea", { id: "token", name: "token", required: true, autocomplete: "off", spellcheck: "false" })),
  h("p", { class: "muted" }, "Locally, print one with: make token USER=alice (ADMIN=1 for an admin)."),
  h("button", { type: "submit" }, "Sign in"));
  main.replaceChildren(h("h1", {}, "Sign in"), form);
}

function signOut(text) {
  sessionStorage.removeItem(TOKEN_KEY);
  location.hash = "#/signin";
  render();
  if (text) say(text, true);
}

// The orders the filters ask for, a page at a time into `container`: `table(rows)` builds the
// table for the first page, `row(order)` each row; "More orders" appends the next page. An answer
// to a request a later one superseded (a slow first page after a quick search) is dropped.
function orderPages(filters, container, limit, table, row) {
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "More orders");
  let cursor = null;
  let latest = 0;
  const load = async (append) => {
    const query = params(filters);
    query.set("limit", String(limit));
    if (append && cursor) query.set("cursor", cursor);
    const asked = ++latest;
    const page = await api("GET", `/orders?${query}`);
    if (asked !== latest) return;
    cursor = page.next_cursor;
    more.hidden = !cursor;
    const rows = page.orders.map(row);
    const body = append ? container.querySelector("tbody") : null;
    if (body) body.append(...rows);
    else container.replaceChildren(table(rows));
  };
  filters.addEventListener("submit", (event) => { event.preventDefault(); load(false).catch(fail); });
  more.addEventListener("click", () => load(true).catch(fail));
  return { load, more };
}

// --- Customer: my orders -------------------------------------------------------------------

async function ordersPage(main) {
  const filters = h("form", { class: "filters card", "aria-label": "Filter orders" },
    field("Status", statusSelect("status", "", true)),
    field("From", h("input", { type: "date", id: "from", name: "from" })),
    field("To", h("input", { type: "date", id: "to", name: "to" })),
    h("button", { type: "submit" }, "Filter"));
  const list = h("div", { "aria-live": "polite" });
  const { load, more } = orderPages(filters, list, 10,
    (rows) => rows.length === 0 ? h("p", { class: "muted" }, "No orders yet.") :
      h("table", {}, h("caption", { class: "skip" }, "Your orders"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Order"), h("th", { scope: "col" }, "Placed"),
          h("th", { scope: "col" }, "Status"), h("th", { scope: "col", class: "n" }, "Total"))),
        h("tbody", {}, rows)),
    (order) => h("tr", {},
      h("td", {}, h("a", { href: `#/orders/${order.id}` }, orderName(order))),
      h("td", {}, when(order.created_at)),
      h("td", {}, badge(order.status)),
      h("td", { class: "n" }, money(order.total, order.currency))));
  main.replaceChildren(h("h1", {}, "My orders"), newOrderForm(), filters, list, more);
  await load(false);
}

function newOrderForm() {
  const lines = h("div", { class: "lines" });
  const addLine = () => lines.append(h("div", { class: "row" },
    h("div", { class: "field" }, h("span", { "aria-hidden": "true" }, "Product id"),
      h("input", { name: "product_id", "aria-label": "Product id", required: true, pattern: "[A-Za-z0-9._:\\-]{1,64}" })),
    h("div", { class: "field" }, h("span", { "aria-hidden": "true" }, "Quantity"),
      h("input", { name: "quantity", "aria-label": "Quantity", type: "number", min: "1", max: "1000", value: "1", required: true }))));
  addLine();
  const form = h("form", { class: "card", "aria-label": "Place an order", onsubmit: async (event) => {
    event.preventDefault();
    const ids = [...form.querySelectorAll("[name=product_id]")].map((input) => input.value.trim());
    const quantities = [...form.querySelectorAll("[name=quantity]")].map((input) => Number(input.value));
    const items = ids.map((product_id, n) => ({ product_id, quantity: quantities[n] }));
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const order = await api("POST", "/orders", { items }, { "idempotency-key": crypto.randomUUID() });
      say(`Order ${orderName(order)} placed: stock is held until ${when(order.payment_due_at)}.`);
      location.hash = `#/orders/${order.id}`;
    } catch (err) {
      if (err.body && err.body.order_id) location.hash = `#/orders/${err.body.order_id}`;
      fail(err);
    } finally { button.disabled = false; }
  } },
  h("h2", {}, "New order"), lines,
  h("div", { class: "row" },
    h("button", { type: "button", class: "secondary", onclick: addLine }, "Add a line"),
    h("button", { type: "submit" }, "Place order")));
  return form;
}

// --- Paying by card ------------------------------------------------------------------------

// The shop's Stripe publishable key, which the pages function puts in the page when it has one.
const STRIPE_KEY = document.querySelector('meta[name="stripe-publishable-key"]')?.content || "";

function loadStripeJs() {
  if (window.Stripe) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const script = h("script", { src: "https://js.stripe.com/v3/" });
    script.addEventListener("load", resolve);
    script.addEventListener("error", () => reject(new Error("Stripe.js could not be loaded.")));
    document.head.append(script);
  });
}

// Card numbers never reach this API: Stripe.js confirms the intent with its client secret, in
// Stripe's own frames; the webhook then pays the order, which the order page sees on its own.
// Locally the intent comes with the test-card page that stands in for Stripe.js.
async function payByCard(order, started, actions) {
  const back = encodeURIComponent(`/#/orders/${order.id}`);
  if (started.redirect_url) { location.assign(`${started.redirect_url}?return_to=${back}`); return; }
  if (!STRIPE_KEY || !started.client_secret) { say("Card payments are not set up for this shop yet.", true); return; }
  await loadStripeJs();
  const stripe = window.Stripe(STRIPE_KEY);
  const elements = stripe.elements({ clientSecret: started.client_secret });
  const slot = h("div", { id: "payment-element" });
  const button = h("button", { type: "submit" }, `Pay ${money(started.amount, started.currency)}`);
  const form = h("form", { class: "card", "aria-label": "Card payment", onsubmit: async (event) => {
    event.preventDefault();
    button.disabled = true;
    const { error } = await stripe.confirmPayment({ elements, redirect: "if_required",
      confirmParams: { return_url: `${location.origin}/#/orders/${order.id}` } });
    if (error) { say(error.message, true); button.disabled = false; return; }
    say("Payment sent: the order shows it paid in a moment.");
    render();
  } }, slot, button);
  actions.after(form);
  elements.create("payment").mount(slot);
}

// --- Order detail --------------------------------------------------------------------------

async function orderPage(main, id) {
  const order = await api("GET", `/orders/${encodeURIComponent(id)}`);
  const actions = h("div", { class: "row" });
  const intent = order.payment_intent;
  // Started and not declined: Stripe reports the outcome by its webhook, so the page looks again.
  const awaitingStripe = order.status === "PENDING_PAYMENT" && intent && !intent.closed_at;
  if (order.status === "PENDING_PAYMENT" && (!order.payment_method || (intent && intent.closed_at))) {
    actions.append(h("button", { type: "button", onclick: async () => {
      try {
        const started = await api("POST", `/orders/${order.id}/payment`, { method: "online" });
        await payByCard(order, started, actions);
      } catch (err) { fail(err); }
    } }, intent && intent.closed_at ? "Pay with another card" : "Pay now"));
  } else if (awaitingStripe && intent.redirect_url) {
    const back = encodeURIComponent(`/#/orders/${order.id}`);
    actions.append(h("a", { href: `${intent.redirect_url}?return_to=${back}` }, "Complete the payment"));
  }
  if (awaitingStripe) {
    actions.append(h("p", { class: "muted", role: "status" }, "Waiting for the payment to be confirmed."));
    const here = location.hash;
    setTimeout(() => { if (location.hash === here) render(); }, 2000);
  }
  if (CANCELLABLE.includes(order.status)) {
    actions.append(h("button", { type: "button", class: "danger", onclick: async () => {
      if (!confirm(`Cancel order ${orderName(order)}?`)) return;
      try { await api("POST", `/orders/${order.id}/cancel`); say("The order is cancelled."); render(); } catch (err) { fail(err); }
    } }, "Cancel order"));
  }
  const items = h("table", {},
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Item"), h("th", { scope: "col" }, "Seller"),
      h("th", { scope: "col", class: "n" }, "Qty"), h("th", { scope: "col", class: "n" }, "Unit price"),
      h("th", { scope: "col", class: "n" }, "Amount"))),
    h("tbody", {}, order.items.map((line) => h("tr", {},
      h("td", {}, line.name, h("div", { class: "muted" }, line.product_id)), h("td", {}, line.seller_id),
      h("td", { class: "n" }, line.quantity), h("td", { class: "n" }, line.unit_price), h("td", { class: "n" }, line.subtotal)))));
  const totals = h("table", { class: "totals" }, h("tbody", {},
    [["Subtotal", order.subtotal], ["Shipping", order.shipping_fee], ["Tax", order.tax], ["Total", order.total]]
      .map(([label, amount]) => h("tr", {}, h("th", { scope: "row" }, label), h("td", { class: "n" }, money(amount, order.currency))))));
  const history = order.status_history;
  const timeline = h("ol", { class: "timeline", "aria-label": "Status timeline" },
    history.map((change, n) => h("li", { class: n === history.length - 1 ? "current" : "", "data-status": change.status },
      badge(change.status), " ", h("time", { datetime: change.timestamp }, when(change.timestamp)),
      h("div", { class: "muted" }, change.actor, change.note ? ` - ${change.note}` : ""))));
  main.replaceChildren(
    h("p", {}, h("a", { href: isAdmin() ? "#/admin" : "#/orders" }, "Back to orders")),
    h("h1", {}, `Order ${orderName(order)} `, badge(order.status)),
    h("p", { class: "muted" }, `Placed ${when(order.created_at)} - payment ${order.payment_status.toLowerCase()}`,
      order.payment_due_at && order.status === "PENDING_PAYMENT" ? ` - pay by ${when(order.payment_due_at)}` : ""),
    actions,
    h("section", { class: "card", "aria-labelledby": "items-title" }, h("h2", { id: "items-title" }, "Items"), items, totals),
    h("section", { class: "card", "aria-labelledby": "timeline-title" }, h("h2", { id: "timeline-title" }, "Timeline"), timeline));
}

// --- Admin: all orders ---------------------------------------------------------------------

async function adminPage(main) {
  const filters = h("form", { class: "filters card", "aria-label": "Filter orders" },
    field("Search", h("input", { id: "q", name: "q", placeholder: "order, product or customer id" })),
    field("Status", statusSelect("status", "", true)),
    field("From", h("input", { type: "date", id: "from", name: "from" })),
    field("To", h("input", { type: "date", id: "to", name: "to" })),
    field("Sort", h("select", { id: "sort", name: "sort" },
      h("option", { value: "-created_at" }, "Newest"), h("option", { value: "status" }, "Status"), h("option", { value: "-total" }, "Total"))),
    h("button", { type: "submit" }, "Filter"));
  const table = h("div");
  const batch = h("form", { class: "row card", "aria-label": "Batch action" },
    field("With the selected orders", h("select", { id: "batch-action", name: "action" }, h("option", { value: "cancel" }, "Cancel"),
      ADMIN_TARGETS.filter((s) => s !== "CANCELLED").map((s) => h("option", { value: s }, `Move to ${s}`)))),
    h("button", { type: "submit" }, "Apply to selected"));
  batch.addEventListener("submit", async (event) => {
    event.preventDefault();
    const ids = [...table.querySelectorAll("input[name=pick]:checked")].map((box) => box.value);
    if (ids.length === 0) { say("Select orders first.", true); return; }
    const action = batch.elements.action.value;
    try {
      const started = await api("POST", "/orders/batch-process", { items: ids.map((order_id) => ({ order_id, action })) },
        { "idempotency-key": crypto.randomUUID() });
      say(`Batch ${started.batch_id} started for ${ids.length} orders.`);
      setTimeout(() => load(false).catch(fail), 1500);
    } catch (err) { fail(err); }
  });
  const { load, more } = orderPages(filters, table, 25,
    (rows) => h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, h("span", { class: "skip" }, "Select")), h("th", { scope: "col" }, "Order"),
        h("th", { scope: "col" }, "Customer"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col", class: "n" }, "Total"),
        h("th", { scope: "col" }, "Change status"))),
      h("tbody", {}, rows)),
    (order) => {
      const target = h("select", { "aria-label": `New status for ${orderName(order)}` },
        ADMIN_TARGETS.map((status) => h("option", { value: status }, status)));
      return h("tr", {},
        h("td", {}, h("input", { type: "checkbox", name: "pick", value: order.id, "aria-label": `Select ${orderName(order)}` })),
        h("td", {}, h("a", { href: `#/orders/${order.id}` }, orderName(order)), h("div", { class: "muted" }, when(order.created_at))),
        h("td", {}, order.customer_name || order.user_id),
        h("td", {}, badge(order.status)),
        h("td", { class: "n" }, money(order.total, order.currency)),
        h("td", {}, h("div", { class: "row" }, target, h("button", { type: "button", class: "secondary", onclick: async () => {
          try {
            await api("PUT", `/orders/${order.id}/status`, { status: target.value, note: "from the admin page" });
            say(`Order ${orderName(order)} moved to ${target.value}.`);
            await load(false);
          } catch (err) { fail(err); }
        } }, "Apply"))));
    });
  main.replaceChildren(h("h1", {}, "All orders"), filters, batch, table, more);
  await load(false);
}

// --- Admin: analytics ----------------------------------------------------------------------

function barChart(title, days, value, format) {
  const width = 640, height = 200, pad = 28;
  const max = Math.max(1, ...days.map(value));
  const step = (width - pad * 2) / Math.max(1, days.length);
  const bars = days.map((day, n) => {
    const v = value(day), barHeight = ((height - pad * 2) * v) / max;
    return svg("rect", { x: pad + n * step + 1, y: height - pad - barHeight, width: Math.max(1, step - 2), height: barHeight },
      svg("title", {}, `${day.date}: ${format(v)}`));
  });
  const labels = [days[0], days[days.length - 1]].filter(Boolean).map((day, n) =>
    svg("text", { x: n === 0 ? pad : width - pad, y: height - 8, "text-anchor": n === 0 ? "start" : "end" }, day.date));
  return svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${title}, highest ${format(max)}` },
    svg("text", { x: pad, y: 16 }, `${title} (max ${format(max)})`), bars, labels);
}

async function analyticsPage(main) {
  const [daily, trends] = await Promise.all([api("GET", "/orders/analytics/daily"), api("GET", "/orders/analytics/trends")]);
  const days = daily.days;
  const sum = (name) => days.reduce((total, day) => total + Number(day[name]), 0);
  const kpi = (label, text) => h("div", { class: "kpi" }, h("span", { class: "muted" }, label), h("b", {}, text));
  const percent = (fraction) => `${(Number(fraction) * 100).toFixed(1)} %`;
  const top = h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Product"),
    h("th", { scope: "col", class: "n" }, "Units"), h("th", { scope: "col", class: "n" }, "Revenue"))),
    h("tbody", {}, trends.top_products_by_revenue.map((product) => h("tr", {},
      h("td", {}, product.product_id), h("td", { class: "n" }, product.units), h("td", { class: "n" }, product.revenue)))));
  main.replaceChildren(h("h1", {}, "Analytics"),
    h("p", { class: "muted" }, `${daily.from} to ${daily.to}, UTC days`),
    h("div", { class: "kpis" }, kpi("Placed", sum("placed")), kpi("Paid", sum("paid")), kpi("Revenue", sum("revenue").toFixed(2)),
      kpi("Refunds", sum("refunds").toFixed(2)), kpi("Conversion", percent(trends.conversion_rate)),
      kpi("Cancellation", percent(trends.cancellation_rate)), kpi("Expiry", percent(trends.expiry_rate))),
    h("h2", {}, "Revenue per day"), barChart("Revenue", days, (day) => Number(day.revenue), (v) => v.toFixed(2)),
    h("h2", {}, "Orders placed per day"), barChart("Placed", days, (day) => day.placed, (v) => String(v)),
    h("h2", {}, "Top products"), top);
}

// --- Routing -------------------------------------------------------------------------------

async function render() {
  const main = document.getElementById("main");
  const signedIn = Boolean(token());
  const who = claims();
  document.getElementById("who").textContent = signedIn && who ? `${who.name || who.sub}${isAdmin() ? " (admin)" : ""}` : "";
  document.getElementById("signout").hidden = !signedIn;
  for (const link of document.querySelectorAll("[data-admin]")) link.hidden = !isAdmin();
  const [page, id] = location.hash.replace(/^#\/?/, "").split("/");
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === (page || "orders")) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  try {
    if (!signedIn || page === "signin") signInPage(main);
    else if (page === "orders" && id) await orderPage(main, decodeURIComponent(id));
    else if (page === "admin" && isAdmin()) await adminPage(main);
    else if (page === "analytics" && isAdmin()) await analyticsPage(main);
    else await ordersPage(main);
  } catch (err) { fail(err); }
}

window.addEventListener("hashchange", () => { say(""); render(); });
document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("signout").addEventListener("click", () => signOut());
  render();
});
