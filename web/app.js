// The orders pages: a small client of the service's own API (same origin), no framework.
// Every value from the API goes into the page as text (h() never parses HTML).
"use strict";

// The session, shared by every tab of this site and kept across reloads: the ID token the API
// reads, the refresh token, and when the ID token ends.
const SESSION_KEY = "orders.session";
// A sign-in under way in this tab: its PKCE verifier, its state, and the page to come back to.
const PENDING_KEY = "orders.signin";
// The ID token is refreshed this long before it ends.
const REFRESH_MARGIN_MS = 5 * 60 * 1000;
const STATUSES = ["PENDING_RESERVING_STOCK", "PENDING_PAYMENT", "INVALID", "PAID", "PROCESSING", "PARTIALLY_SHIPPED",
  "SHIPPED", "DELIVERED", "CANCELLED", "RETURN_REQUESTED", "RETURNED"];
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

// --- Settings and session -------------------------------------------------------------------

// What the pages function says about this deployment (/config.json): where to sign in,
// Stripe.js's key, and the shop's currency.
let settings = { sign_in: null, stripe_publishable_key: null, currency: "" };

function session() {
  try { return JSON.parse(localStorage.getItem(SESSION_KEY)); } catch (_) { return null; }
}

// Keeps the tokens the token endpoint answered; a refresh answers no new refresh token.
function keepSession(tokens, previous) {
  const kept = { id_token: tokens.id_token, refresh_token: tokens.refresh_token || (previous && previous.refresh_token),
    expires_at: Date.now() + Number(tokens.expires_in || 3600) * 1000 };
  localStorage.setItem(SESSION_KEY, JSON.stringify(kept));
  scheduleRefresh();
  return kept;
}

// An ID token's claims, read for display and navigation only: the API checks the signature.
function tokenClaims(idToken) {
  try {
    return JSON.parse(atob(idToken.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  } catch (_) { return null; }
}

const claims = () => tokenClaims((session() || {}).id_token || "");

function groups() {
  const claimed = (claims() || {})["cognito:groups"] || [];
  return Array.isArray(claimed) ? claimed : String(claimed).replace(/[\[\]]/g, "").split(/[ ,]+/);
}

function isAdmin() { return groups().includes("admin"); }

const base64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const randomText = (bytes) => base64url(crypto.getRandomValues(new Uint8Array(bytes)));

// OAuth 2.0 authorization code with PKCE: off to the hosted sign-in page, which comes back to
// the pages with a one-time code. The page asked for comes back too (a deep link survives).
async function signIn() {
  const auth = settings.sign_in;
  if (!auth) { say("Sign-in is not set up for this shop yet: the stack needs its PagesUrl (see the README).", true); return; }
  const verifier = randomText(32);
  const state = randomText(16);
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const back = location.hash && !location.hash.startsWith("#/signin") ? location.hash : "#/";
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ state, verifier, return_to: back }));
  const query = new URLSearchParams({ response_type: "code", client_id: auth.client_id, redirect_uri: auth.redirect_uri,
    scope: auth.scopes.join(" "), state, code_challenge: challenge, code_challenge_method: "S256" });
  location.assign(`${auth.authorize_url}?${query}`);
}

class SignInError extends Error {
  constructor(code) { super(`The sign-in service answered ${code}.`); this.code = code; }
}

async function tokenRequest(form) {
  const auth = settings.sign_in;
  const response = await fetch(auth.token_url, { method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: auth.client_id, ...form }) });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new SignInError(body.error || `HTTP ${response.status}`);
  return body;
}

// Back from the sign-in page (`?code=...&state=...`, or `?error=...`): the code is traded once,
// only by the tab that started this sign-in, and the address is cleaned of it.
async function finishSignIn() {
  const query = new URLSearchParams(location.search);
  if (!query.has("code") && !query.has("error")) return;
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null");
  sessionStorage.removeItem(PENDING_KEY);
  history.replaceState(null, "", `${location.pathname}${(pending && pending.return_to) || "#/"}`);
  // Only an answer to this tab's own sign-in is read: anyone can make a link with `?error=`.
  if (!pending || pending.state !== query.get("state")) throw new Error("Sign-in did not finish: it was not started from this tab. Sign in again.");
  if (query.has("error")) throw new Error(`Sign-in did not finish: ${query.get("error_description") || query.get("error")}.`);
  keepSession(await tokenRequest({ grant_type: "authorization_code", code: query.get("code"),
    redirect_uri: settings.sign_in.redirect_uri, code_verifier: pending.verifier }));
}

// New tokens from the refresh token, one request at a time. A refresh token the sign-in
// service no longer knows (revoked, expired) ends the session; a network failure does not.
let refreshing = null;
let signingOut = false;
function refresh() {
  refreshing = refreshing || (async () => {
    const current = session();
    if (!current || !current.refresh_token || !settings.sign_in) throw new SignInError("no_session");
    const answer = await tokenRequest({ grant_type: "refresh_token", refresh_token: current.refresh_token });
    // Signed out (or in as someone else) while the answer was on its way: it is not kept.
    const now = session();
    if (signingOut || !now || now.refresh_token !== current.refresh_token) return now;
    return keepSession(answer, current);
  })().finally(() => { refreshing = null; });
  return refreshing;
}

let refreshTimer = null;
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  const current = session();
  if (!current) return;
  const wait = Math.min(Math.max(0, current.expires_at - Date.now() - REFRESH_MARGIN_MS), 2 ** 31 - 1);
  refreshTimer = setTimeout(() => refresh().catch((err) => { if (err instanceof SignInError) endSession(); }), wait);
}

// The ID token to send, refreshed first when it is about to end.
async function idToken() {
  let current = session();
  if (current && current.expires_at - Date.now() < REFRESH_MARGIN_MS) current = await refresh();
  return current && current.id_token;
}

function endSession(text) {
  localStorage.removeItem(SESSION_KEY);
  clearTimeout(refreshTimer);
  render();
  if (text) say(text, true);
}

// Signing out revokes the refresh token and ends the hosted sign-in's own session, which
// sends the browser back here.
async function signOut() {
  signingOut = true;
  const current = session();
  const auth = settings.sign_in;
  localStorage.removeItem(SESSION_KEY);
  clearTimeout(refreshTimer);
  if (!auth) { signingOut = false; render(); return; }
  if (current && current.refresh_token) {
    await fetch(auth.revoke_url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: current.refresh_token, client_id: auth.client_id }) }).catch(() => {});
  }
  location.assign(`${auth.logout_url}?${new URLSearchParams({ client_id: auth.client_id, logout_uri: auth.redirect_uri })}`);
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.message)) || `HTTP ${status}`);
    this.status = status; this.body = body;
  }
}

// A call to this API with the ID token. A 401 gets one refresh and one more try; then the
// session is over.
// A read the service answers 503 ("briefly unavailable") is asked again after its Retry-After
// (capped at 5 s), twice at most, before the page shows the error: a person would reload.
const READ_RETRIES = 2;

async function send(url, init) {
  for (let tries = 0; ; tries += 1) {
    const response = await fetch(url, init);
    const read = !init || !init.method || init.method === "GET";
    if (response.status !== 503 || !read || tries >= READ_RETRIES) return response;
    const seconds = Math.min(Number(response.headers.get("retry-after")) || 1, 5);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  }
}

// The answer's JSON (or text), or an ApiError for an answer that is not a success.
async function answerOf(response) {
  const text = await response.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch (_) { parsed = text; }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

async function api(method, path, body, headers, retried) {
  const ended = (parsed) => { endSession("Your session has ended: sign in again."); return new ApiError(401, parsed); };
  let bearer;
  try { bearer = await idToken(); } catch (err) { if (err instanceof SignInError) throw ended(null); throw err; }
  if (!bearer) throw ended(null);
  const init = { method, headers: { authorization: `Bearer ${bearer}`, ...(headers || {}) } };
  if (body !== undefined) { init.headers["content-type"] = "application/json"; init.body = JSON.stringify(body); }
  const response = await send(`/api/v1${path}`, init);
  if (response.status === 401) {
    if (retried) throw ended(null);
    try { await refresh(); } catch (_) { throw ended(null); }
    return api(method, path, body, headers, true);
  }
  return answerOf(response);
}

function say(text, error) {
  const box = document.getElementById("message");
  box.replaceChildren(text ? h("div", { class: error ? "error" : "" }, text) : "");
}

function fail(err) { say(err.message || String(err), true); }

const money = (amount, currency) => `${amount} ${currency || ""}`.trim();
const when = (iso) => iso ? new Date(iso).toLocaleString() : "";
// Statuses, people and timeline notes in the words a person reads.
const STATUS_WORDS = { CREATED: "Placed", PENDING_RESERVING_STOCK: "Reserving stock", PENDING_PAYMENT: "Awaiting payment",
  INVALID: "Could not be placed", PAID: "Paid", PROCESSING: "Being prepared", PARTIALLY_SHIPPED: "Partly shipped",
  SHIPPED: "Shipped", DELIVERED: "Delivered", CANCELLED: "Cancelled", RETURN_REQUESTED: "Return requested", RETURNED: "Returned" };
const statusWords = (status) => STATUS_WORDS[status] || status.replace(/_/g, " ").toLowerCase();
const badge = (status) => h("span", { class: `badge ${status}` }, statusWords(status));
const SYSTEM_WORDS = { "reserve-stock": "Stock check", sweeper: "Scheduled check", payments: "Payment provider",
  carrier: "Carrier", admin: "Shop" };
function actorWords(actor) {
  const [kind, ...rest] = String(actor).split(":");
  const who = rest.join(":");
  if (kind === "customer") return who === (claims() || {}).sub ? "You" : "Customer";
  if (kind === "admin") return `Shop staff (${who})`;
  if (kind === "seller") return `Seller ${who}`;
  if (kind === "system") return SYSTEM_WORDS[who] || "Automatic";
  return String(actor);
}
const NOTE_WORDS = [["CANCELLED_BY_REQUEST", "Cancelled on request"], ["PAYMENT_STARTED", "Payment started:"], ["PAYMENT_TIMEOUT", "Not paid in time: the held stock went back"],
  ["PAYMENT_FAILED", "Payment failed"], ["PAYMENT_COLLECTED", "Payment collected"], ["RETURN_REJECTED", "Return rejected"],
  ["PERSONAL_DATA_ERASED", "Personal data erased"], ["OUT_OF_STOCK", "out of stock"], ["UNKNOWN_PRODUCT", "no such product"],
  ["AMOUNT_TOO_LARGE", "amount too large"], ["SELLER_INACTIVE", "seller not trading"], ["PRICE_CHANGED", "price changed"], ["REFUNDED", "Refunded"]];
// Staff read the provider's ids and codes; a customer reads the words alone.
const noteWords = (note) => {
  const text = NOTE_WORDS.reduce((all, [code, words]) => all.split(code).join(words), String(note));
  return isAdmin() ? text : text.replace(/\s*\b(pi|re|ch|dp)_[A-Za-z0-9]+\b:?/g, "").replace(/\s*\b[a-z]+(_[a-z]+)+:\s*/g, ": ");
};
const PAYMENT_WORDS = { PENDING: "not paid yet", PAID: "paid", FAILED: "failed", REFUNDED: "refunded",
  PARTIALLY_REFUNDED: "partly refunded", DISPUTED: "disputed" };
const paymentWords = (status) => PAYMENT_WORDS[status] || String(status).replace(/_/g, " ").toLowerCase();
const PROBLEM_WORDS = { OUT_OF_STOCK: "is out of stock", UNKNOWN_PRODUCT: "is not in the catalogue",
  AMOUNT_TOO_LARGE: "would cost more than an order may", SELLER_INACTIVE: "is from a seller who is not trading",
  PRICE_CHANGED: "changed price since it was put in the cart" };
function problemWords(problem) {
  const left = problem.available !== undefined && problem.available !== null ? ` (${problem.available} left, ${problem.requested} asked)` : "";
  return `${problem.product_id} ${PROBLEM_WORDS[problem.code] || problem.code}${left}`;
}
// A table that scrolls sideways on a narrow screen instead of losing columns (a named region
// that takes focus, so a keyboard can scroll it too).
const scroller = (label, table) => h("div", { class: "scroll", role: "region", "aria-label": label, tabindex: "0" }, table);
const orderName = (order) => order.order_number || order.id.slice(-8);

function statusSelect(name, value, withAny) {
  return h("select", { name, id: name },
    withAny ? h("option", { value: "" }, "Any status") : null,
    STATUSES.map((status) => h("option", { value: status, selected: status === value }, statusWords(status))));
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
  const ready = Boolean(settings.sign_in);
  // This page has its own button: the header's would be a second of the same name.
  document.getElementById("signin").hidden = true;
  main.replaceChildren(h("h1", {}, "Sign in"),
    h("section", { class: "card" },
      h("p", {}, ready ? "Sign in to place orders and follow them; shop staff and sellers sign in here too."
        : "Sign-in is not set up for this shop yet: deploy the stack again with its PagesUrl (see the README)."),
      h("button", { type: "button", disabled: !ready, onclick: () => signIn().catch(fail) }, "Sign in")));
  return "Sign in";
}

// The orders the filters ask for, a page at a time into `container`: `table(rows)` builds the
// table for the first page, `row(order)` each row; "More orders" appends the next page. An answer
// to a request a later one superseded (a slow first page after a quick search) is dropped.
// `remember(query)` is told each new filter (the admin list keeps it in the address).
function orderPages(filters, container, limit, table, row, remember) {
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "More orders");
  let cursor = null;
  let latest = 0;
  const load = async (append) => {
    const query = params(filters);
    if (!append && remember) remember(query);
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
    (rows) => rows.length === 0 ? h("p", { class: "muted" }, "No orders match: find something in the shop, or change the filters.") :
      scroller("Your orders", h("table", {}, h("caption", { class: "skip" }, "Your orders"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Order"),
          h("th", { scope: "col" }, "Status"), h("th", { scope: "col", class: "n" }, "Total"))),
        h("tbody", {}, rows))),
    (order) => h("tr", {},
      // Three columns, so that a phone shows the total too: the date goes under the number.
      h("td", {}, h("a", { href: `#/orders/${order.id}` }, orderName(order)),
        h("div", { class: "muted" }, h("time", { datetime: order.created_at }, when(order.created_at)))),
      h("td", {}, badge(order.status)),
      h("td", { class: "n" }, money(order.total, order.currency))));
  main.replaceChildren(h("h1", {}, "My orders"), filters, list, more);
  await load(false);
  return "My orders";
}

// --- Storefront: the shop, a product, the cart, checkout -------------------------------------

// The public catalogue is read without a token (anyone may browse), so answers can be cached.
async function publicApi(path) {
  return answerOf(await send(`/api/v1${path}`));
}

const stockBadge = (availability) => h("span", { class: `stock ${availability.status}` }, availability.label);

function productImage(product, large) {
  // Pictures are decoration beside the name, which says what the product is.
  if (product.image_url) return h("img", { class: large ? "photo large" : "photo", src: product.image_url, alt: "", loading: "lazy" });
  return h("div", { class: large ? "photo large blank" : "photo blank", "aria-hidden": "true" }, product.name.slice(0, 1).toUpperCase());
}

// The cart's size in the header, for a signed-in customer.
async function showCartCount() {
  const link = document.getElementById("cart-link");
  if (!session() || sellerId() || isAdmin()) { link.textContent = "Cart"; return; }
  try {
    const cart = await api("GET", "/cart");
    const units = cart.items.reduce((sum, item) => sum + item.quantity, 0);
    link.textContent = units ? `Cart (${units})` : "Cart";
  } catch (_) { link.textContent = "Cart"; }
}

// Adds to the cart; a shopper who is not signed in signs in first and comes back here.
async function addToCart(product, quantity, button) {
  if (!session()) { say("Sign in to fill your cart: you come back to this page."); await signIn(); return; }
  button.disabled = true;
  try {
    await api("POST", "/cart/items", { product_id: product.product_id, quantity });
    say(`${quantity} x ${product.name} is in your cart.`);
    await showCartCount();
  } catch (err) {
    if (err.body && err.body.code === "NOT_ENOUGH_STOCK") {
      say(`Only ${err.body.available} of ${product.name} are in stock, counting those already in your cart.`, true);
    } else fail(err);
  } finally { button.disabled = false; }
}

function quantityInput(id, value, max) {
  return h("input", { id, name: "quantity", type: "number", min: "1", max: String(Math.max(1, Math.min(max, 1000))),
    value: String(value), required: true, inputmode: "numeric" });
}

// A quantity and "Add to cart" (or "Sold out"), on a product's card and on its page.
function buyForm(product, quantityId) {
  const soldOut = product.availability.status === "SOLD_OUT";
  const quantity = quantityInput(quantityId, 1, product.availability.left || 1000);
  const add = h("button", { type: "submit", disabled: soldOut }, soldOut ? "Sold out" : "Add to cart");
  const form = h("form", { class: "row buy", "aria-label": `Buy ${product.name}` }, soldOut ? null : field("Quantity", quantity), add);
  form.addEventListener("submit", (event) => { event.preventDefault(); addToCart(product, Number(quantity.value), add); });
  return form;
}

function productCard(product) {
  const form = buyForm(product, `qty-${product.product_id}`);
  return h("li", { class: "card product", "data-product": product.product_id },
    h("a", { href: `#/products/${encodeURIComponent(product.product_id)}`, class: "product-link" }, productImage(product, false),
      h("h2", {}, product.name)),
    h("p", { class: "price" }, money(product.price, product.currency), " ", stockBadge(product.availability)),
    h("p", { class: "muted" }, `Sold by ${product.seller_name}`), form);
}

async function shopPage(main, query) {
  // Words are letters and digits: a query of neither is no search (as the API reads it).
  const q = /[\p{L}\p{N}]/u.test(query.get("q") || "") ? query.get("q").trim() : "";
  const search = h("input", { id: "shop-q", name: "q", type: "search", value: q, maxlength: "100", autocomplete: "off" });
  const form = h("form", { class: "row filters", role: "search", "aria-label": "Search the shop" },
    field("Search products", search), h("button", { type: "submit" }, "Search"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const words = search.value.trim();
    location.hash = words ? `#/shop?${new URLSearchParams({ q: words })}` : "#/shop";
  });
  const grid = h("ul", { class: "products", "aria-label": "Products" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "More products");
  let cursor = null;
  // A page may come back short (hidden products, a search's near misses): a short first page is
  // followed a few times before the shop says nothing matches.
  const load = async () => {
    more.disabled = true;
    try {
      for (let round = 0; round < 5; round += 1) {
        const asked = new URLSearchParams({ limit: "24" });
        if (q) asked.set("q", q);
        if (cursor) asked.set("cursor", cursor);
        const page = await publicApi(`/products?${asked}`);
        grid.append(...page.products.map(productCard));
        cursor = page.next_cursor;
        if (page.products.length > 0 || !cursor) break;
      }
    } finally { more.disabled = false; more.hidden = !cursor; }
  };
  more.addEventListener("click", () => load().catch(fail));
  await load();
  const empty = grid.children.length === 0
    ? h("p", { class: "muted" }, q ? `Nothing matches "${q}": try fewer or other words.` : "Nothing is for sale yet.") : null;
  main.replaceChildren(...[h("h1", {}, q ? `Results for "${q}"` : "Shop"), form, empty, grid, more].filter(Boolean));
  return q ? `Search: ${q}` : "Shop";
}

async function catalogueProductPage(main, id) {
  let product;
  try { product = await publicApi(`/products/${encodeURIComponent(id)}`); } catch (err) {
    if (err.status !== 404) throw err;
    main.replaceChildren(h("h1", {}, "This product is not for sale"), h("p", {}, h("a", { href: "#/shop" }, "Back to the shop")));
    return "Not for sale";
  }
  const form = buyForm(product, "product-qty");
  const paragraphs = (product.description || "").split(/\n+/).filter(Boolean).map((text) => h("p", {}, text));
  main.replaceChildren(h("p", {}, h("a", { href: "#/shop" }, "Back to the shop")),
    h("article", { class: "card product-page" }, productImage(product, true),
      h("div", {}, h("h1", {}, product.name),
        h("p", { class: "price" }, money(product.price, product.currency), " ", stockBadge(product.availability)),
        h("p", { class: "muted" }, `Sold by ${product.seller_name}`), ...paragraphs, form)));
  return product.name;
}

// What a cart line's warnings mean, in words.
function cartWarnings(item, currency) {
  return item.warnings.map((warning) => {
    if (warning === "PRICE_CHANGED") return `The price changed from ${money(item.unit_price, currency)} to ${money(item.current_price, currency)} since you added it.`;
    if (warning === "OUT_OF_STOCK") return "Sold out: remove it to check out.";
    if (warning === "UNAVAILABLE") return "No longer sold: remove it to check out.";
    const left = /^ONLY_(\d+)_LEFT$/.exec(warning);
    if (!left) return warning;
    return Number(left[1]) < item.quantity ? `Only ${left[1]} left: lower the quantity to check out.` : `Only ${left[1]} left.`;
  });
}

// Whether a cart line can be bought as it stands (a changed price is accepted at checkout).
function buyable(item) {
  return item.warnings.every((warning) => {
    const left = /^ONLY_(\d+)_LEFT$/.exec(warning);
    return warning === "PRICE_CHANGED" || (left && Number(left[1]) >= item.quantity);
  });
}

// A cart line's quantity, changed or removed in place.
function cartLineControls(item) {
  const quantity = quantityInput(`cart-qty-${item.product_id}`, item.quantity, 1000);
  const form = h("form", { class: "row", "aria-label": `Quantity of ${item.name || item.product_id}` },
    field("Quantity", quantity), h("button", { type: "submit", class: "secondary" }, "Update"),
    h("button", { type: "button", class: "link", onclick: (event) => act(event.target,
      () => api("DELETE", `/cart/items/${encodeURIComponent(item.product_id)}`).then(showCartCount), `${item.name || item.product_id} is out of your cart.`) },
    "Remove"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(form.querySelector("button[type=submit]"), () => api("PUT", `/cart/items/${encodeURIComponent(item.product_id)}`,
      { quantity: Number(quantity.value) }).then(showCartCount), "The quantity is changed.");
  });
  return form;
}

function cartTotals(cart) {
  const row = (label, value, strong) => h("tr", {}, h("td", {}, strong ? h("strong", {}, label) : label),
    h("td", { class: "n" }, strong ? h("strong", {}, money(value, cart.currency)) : money(value, cart.currency)));
  return h("table", { class: "totals" }, h("caption", { class: "skip" }, "Totals"), h("tbody", {},
    row("Items", cart.subtotal), row("Shipping", cart.shipping_fee), Number(cart.tax) ? row("Tax", cart.tax) : null,
    Number(cart.discount) ? row("Discount", `-${cart.discount}`) : null, row("Total", cart.total, true)));
}

async function cartPage(main) {
  const cart = await api("GET", "/cart");
  if (cart.items.length === 0) {
    main.replaceChildren(h("h1", {}, "Your cart"), h("p", {}, "Your cart is empty. ", h("a", { href: "#/shop" }, "Go to the shop")));
    return "Your cart";
  }
  const blocked = !cart.items.every(buyable);
  const lines = cart.items.map((item) => h("li", { class: "card cart-line", "data-product": item.product_id },
    h("h2", {}, h("a", { href: `#/products/${encodeURIComponent(item.product_id)}` }, item.name || item.product_id)),
    h("p", {}, `${money(item.unit_price, cart.currency)} each - ${money(item.line_total, cart.currency)}`),
    cartWarnings(item, cart.currency).map((text) => h("p", { class: "notice warn" }, text)),
    cartLineControls(item)));
  main.replaceChildren(...[h("h1", {}, "Your cart"), h("ul", { class: "lines plain", "aria-label": "Cart lines" }, lines),
    cartTotals(cart),
    blocked ? h("p", { class: "notice error" }, "Some items cannot be bought as they are: change them above to check out.") : null,
    h("div", { class: "row" }, h("a", { href: "#/shop" }, "Keep shopping"),
      blocked ? null : h("a", { class: "button", href: "#/checkout" }, "Check out"))].filter(Boolean));
  return "Your cart";
}

// What the customer typed in the address form, kept while the checkout draws itself again (a
// quantity changed, a price to accept), for this tab only.
const typedAddress = {};
const ADDRESS_FIELDS = [["contact_name", "Full name", "name", true], ["line1", "Address", "address-line1", true],
  ["line2", "Apartment, suite (optional)", "address-line2", false], ["city", "City", "address-level2", true],
  ["state", "State or region (optional)", "address-level1", false], ["postal_code", "Postal code", "postal-code", true],
  ["country", "Country (2 letters, e.g. US)", "country", true], ["phone", "Phone (optional, +15551234567)", "tel", false]];

// Checkout: the lines and their price changes, the address (the API's field errors shown beside
// their fields), then the order, which is paid by card from its page.
async function checkoutPage(main) {
  const cart = await api("GET", "/cart");
  if (cart.items.length === 0) { location.hash = "#/cart"; return "Checkout"; }
  const changed = cart.items.filter((item) => item.warnings.includes("PRICE_CHANGED"));
  const charged = cart.totals_at_current_prices || cart;
  const problems = h("div", { "aria-live": "polite" });
  const inputs = Object.fromEntries(ADDRESS_FIELDS.map(([name, , autocomplete, required]) => [name,
    h("input", { id: `ship-${name}`, name, autocomplete, required, maxlength: name === "country" ? "2" : "200",
      value: typedAddress[name] || "", "aria-describedby": `ship-${name}-error`,
      oninput: (event) => { typedAddress[name] = event.target.value; } })]));
  const accept = changed.length ? h("input", { id: "accept-prices", type: "checkbox", required: true }) : null;
  const form = h("form", { class: "card", "aria-labelledby": "address-title", novalidate: true },
    h("h2", { id: "address-title" }, "Delivery address"),
    ADDRESS_FIELDS.map(([name, label]) => h("div", { class: "field wide" }, h("label", { for: `ship-${name}` }, label), inputs[name],
      h("span", { id: `ship-${name}-error`, class: "field-error" }))),
    accept ? h("div", { class: "row" }, accept, h("label", { for: "accept-prices" }, "I accept the new prices above")) : null,
    // With a changed price the order charges today's prices, once they are accepted.
    h("button", { type: "submit" }, `Place order - ${money(charged.total, cart.currency)}`));
  // The same key for every try of this checkout: a retry after a lost answer places it once.
  const key = crypto.randomUUID();
  const showFieldErrors = (errors) => {
    for (const [name, input] of Object.entries(inputs)) {
      const error = errors.find((e) => e.field === `shipping_address.${name}` || (name === "contact_name" && e.field === "shipping_address"));
      input.setAttribute("aria-invalid", error ? "true" : "false");
      const label = ADDRESS_FIELDS.find(([field]) => field === name)[1].replace(/ \(.*\)$/, "");
      document.getElementById(`ship-${name}-error`).textContent = error ? `${label} ${error.message}` : "";
    }
    const first = Object.values(inputs).find((input) => input.getAttribute("aria-invalid") === "true");
    if (first) first.focus();
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (accept && !accept.checked) { say("Accept the new prices to place the order, or change your cart.", true); accept.focus(); return; }
    const address = {};
    for (const [name, input] of Object.entries(inputs)) if (input.value.trim()) address[name] = input.value.trim();
    if (address.country) address.country = address.country.toUpperCase();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const order = await api("POST", "/cart/checkout", { shipping_address: address, accept_price_changes: Boolean(accept && accept.checked) },
        { "idempotency-key": key });
      await showCartCount();
      location.hash = `#/orders/${order.id}?placed=1`;
    } catch (err) {
      const body = err.body || {};
      if (err.status === 422 && Array.isArray(body.errors)) { showFieldErrors(body.errors); say("Check the address: some fields need changing.", true); }
      else if (body.code === "PRICE_CHANGED") { await render(); say("A price changed while you were checking out: see the new price and accept it.", true); }
      else if (err.status === 409 && Array.isArray(body.lines)) { problems.replaceChildren(stockProblems(cart, body.lines)); say("Some items ran out.", true); }
      else fail(err);
    } finally { button.disabled = false; }
  });
  main.replaceChildren(h("p", {}, h("a", { href: "#/cart" }, "Back to the cart")), h("h1", {}, "Checkout"),
    h("section", { class: "card", "aria-labelledby": "summary-title" }, h("h2", { id: "summary-title" }, "Your order"),
      h("ul", { class: "plain" }, cart.items.map((item) => {
        // A changed line at today's price: what the order charges once the change is accepted.
        const total = changed.includes(item) ? (Math.round(Number(item.current_price) * 100) * item.quantity / 100).toFixed(2) : item.line_total;
        return h("li", {}, `${item.quantity} x ${item.name || item.product_id} - ${money(total, cart.currency)}`);
      })),
      changed.map((item) => h("p", { class: "notice warn" }, `${item.name}: ${cartWarnings(item, cart.currency).join(" ")} You pay the new price.`)),
      changed.length ? h("p", { class: "muted" }, "At today's prices:") : null,
      cartTotals({ ...cart, ...charged })),
    problems, form);
  return "Checkout";
}

// Lines refused at checkout, by name: one that ran short offers to change to what is left; any
// line can be removed.
function stockProblems(cart, lines) {
  const nameOf = (id) => (cart.items.find((item) => item.product_id === id) || {}).name || id;
  return h("div", { class: "notice error", role: "alert" }, lines.map((line) => {
    const left = line.code === "OUT_OF_STOCK" ? Number(line.available || 0) : 0;
    const path = `/cart/items/${encodeURIComponent(line.product_id)}`;
    const why = line.code !== "OUT_OF_STOCK" ? `${nameOf(line.product_id)} ${PROBLEM_WORDS[line.code] || "cannot be bought"}. `
      : left > 0 ? `${nameOf(line.product_id)}: only ${left} left (you asked for ${line.requested}). ` : `${nameOf(line.product_id)} is sold out. `;
    return h("p", {}, why,
      left > 0 ? h("button", { type: "button", class: "secondary", onclick: (event) => act(event.target,
        () => api("PUT", path, { quantity: left }).then(showCartCount), `${nameOf(line.product_id)} is now ${left} in your cart.`) },
      `Change to ${left}`) : null, " ",
      h("button", { type: "button", class: "secondary", onclick: (event) => act(event.target,
        () => api("DELETE", path).then(showCartCount), `${nameOf(line.product_id)} is out of your cart.`) }, "Remove it"));
  }));
}

// --- Paying by card ------------------------------------------------------------------------

// The shop's Stripe publishable key, which the pages function puts in the page when it has one.

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
  if (!settings.stripe_publishable_key || !started.client_secret) { say("Card payments are not set up for this shop yet.", true); return; }
  await loadStripeJs();
  const stripe = window.Stripe(settings.stripe_publishable_key);
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

// The order's actions the API allows the caller now, by name.
const allowed = (subject, name) => (subject.allowed_actions || []).filter((action) => action.action === name);
const today = () => new Date().toISOString().slice(0, 10);

// Runs one action of a page: its button is disabled meanwhile, the page drawn again, then the
// outcome said. An error stays on screen until the next action.
async function act(button, work, done) {
  if (button) button.disabled = true;
  try {
    await work();
    await render();
    if (done) say(done);
  } catch (err) { fail(err); } finally { if (button) button.disabled = false; }
}

function shippingForm(order, sellerId) {
  const form = h("form", { class: "row", "aria-label": `Ship ${sellerId}'s part` },
    field("Carrier", h("input", { id: `carrier-${order.id}-${sellerId}`, name: "carrier", required: true, maxlength: "100", autocomplete: "off" })),
    field("Tracking number", h("input", { id: `tracking-${order.id}-${sellerId}`, name: "tracking", required: true, maxlength: "100", autocomplete: "off" })),
    field("Estimated delivery", h("input", { id: `eta-${order.id}-${sellerId}`, name: "eta", type: "date", min: today() })),
    h("button", { type: "submit" }, "Mark shipped"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const eta = form.elements.eta.value;
    act(form.querySelector("button"), () => api("PATCH", `/orders/${order.id}/shipping`, { seller_id: sellerId, status: "SHIPPED",
      carrier: form.elements.carrier.value.trim(), tracking_number: form.elements.tracking.value.trim(),
      ...(eta ? { estimated_delivery: `${eta}T18:00:00Z` } : {}) }), `${sellerId}'s part is shipped.`);
  });
  return form;
}

function deliveryButtons(order, sellerId, actions) {
  const row = h("div", { class: "row" });
  if (actions.some((action) => action.action === "deliver")) {
    row.append(h("button", { type: "button", onclick: (event) => act(event.target,
      () => api("PATCH", `/orders/${order.id}/shipping`, { seller_id: sellerId, status: "DELIVERED" }), `${sellerId}'s part is delivered.`) },
    "Mark delivered"));
  }
  if (actions.some((action) => action.action === "report_delivery_failed")) {
    const reason = h("input", { id: `failure-${order.id}-${sellerId}`, name: "reason", required: true, maxlength: "200" });
    const form = h("form", { class: "row", "aria-label": `Report ${sellerId}'s delivery failed` },
      field("Why delivery failed", reason), h("button", { type: "submit", class: "danger" }, "Delivery failed"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!confirm(`Record ${sellerId}'s delivery as failed? Its units go back to stock and their value is refunded.`)) return;
      act(form.querySelector("button"), () => api("PATCH", `/orders/${order.id}/shipping`,
        { seller_id: sellerId, status: "DELIVERY_FAILED", reason: reason.value.trim() }), `${sellerId}'s delivery is recorded as failed.`);
    });
    row.append(form);
  }
  return row;
}

// The order's lines, grouped by the seller part that ships them (once it is split), each part
// with what the caller may report about it.
function partsSection(order) {
  const line = (item) => h("tr", {},
    h("td", {}, item.name, h("div", { class: "muted" }, item.product_id)),
    h("td", { class: "n" }, item.quantity), h("td", { class: "n" }, money(item.unit_price, order.currency)),
    h("td", { class: "n" }, money(item.subtotal, order.currency)));
  const table = (label, items) => scroller(label, h("table", {},
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Item"), h("th", { scope: "col", class: "n" }, "Qty"),
      h("th", { scope: "col", class: "n" }, "Unit price"), h("th", { scope: "col", class: "n" }, "Amount"))),
    h("tbody", {}, items.map(line))));
  const parts = order.seller_parts || [];
  const bySeller = new Map();
  for (const item of order.items) bySeller.set(item.seller_id, [...(bySeller.get(item.seller_id) || []), item]);
  const groups = [...bySeller.entries()].map(([sellerId, items]) => {
    const part = parts.find((candidate) => candidate.seller_id === sellerId);
    const actions = (order.allowed_actions || []).filter((action) => action.seller_id === sellerId);
    const facts = part ? [
      h("span", { class: `badge ${stoppedPart(order, part) ? "CANCELLED" : part.status}` }, partWords(order, part)),
      part.carrier ? ` ${part.carrier} ${part.tracking_number || ""}` : "",
      part.estimated_delivery ? ` - expected ${new Date(part.estimated_delivery).toLocaleDateString()}` : "",
      part.failure_reason ? ` - ${part.failure_reason}` : ""] : [];
    return h("div", { class: "part", "data-seller": sellerId },
      h("h3", {}, `Seller ${sellerId} `, ...facts),
      table(`Items from seller ${sellerId}`, items),
      actions.some((action) => action.action === "ship") ? shippingForm(order, sellerId) : null,
      deliveryButtons(order, sellerId, actions));
  });
  const totals = h("table", { class: "totals" }, h("tbody", {},
    [["Subtotal", order.subtotal], ["Shipping", order.shipping_fee], ["Tax", order.tax], ["Total", order.total],
      ...(Number(order.refunded_total) > 0 ? [["Refunded", order.refunded_total]] : [])]
      .map(([label, amount]) => h("tr", {}, h("th", { scope: "row" }, label), h("td", { class: "n" }, money(amount, order.currency))))));
  return h("section", { class: "card", "aria-labelledby": "items-title" }, h("h2", { id: "items-title" }, "Items"), groups, totals);
}

const PART_WORDS = { PENDING: "To ship", SHIPPED: "Shipped", DELIVERED: "Delivered", DELIVERY_FAILED: "Delivery failed" };
// A part never shipped of a cancelled order is not "to ship".
const stoppedPart = (order, part) => order.status === "CANCELLED" && part.status === "PENDING";
const partWords = (order, part) => (stoppedPart(order, part) ? "Not shipped" : PART_WORDS[part.status] || part.status);

function customerCard(order, stats) {
  const address = order.shipping_address;
  const figures = stats ? h("p", { class: "muted" }, `${stats.orders} order${stats.orders === 1 ? "" : "s"}, `,
    `${money(stats.spent, stats.currency)} spent (${money(stats.refunded, stats.currency)} refunded), `,
    `average order ${money(stats.average_order, stats.currency)}`,
    stats.last_order_at ? `, last ordered ${when(stats.last_order_at)}` : "") : null;
  return h("section", { class: "card", "aria-labelledby": "customer-title" }, h("h2", { id: "customer-title" }, "Customer"),
    h("p", {}, h("strong", {}, order.customer_name || "No name on record"), h("br"), order.customer_email || "No email on record"),
    figures,
    address ? h("address", {}, [address.contact_name, address.line1, address.line2,
      `${address.postal_code} ${address.city}${address.state ? `, ${address.state}` : ""}`, address.country, address.phone]
      .filter(Boolean).flatMap((text) => [text, h("br")])) : h("p", { class: "muted" }, "No shipping address (collected in person)."),
    h("p", {}, h("a", { href: `#/admin?user_id=${encodeURIComponent(order.user_id)}` }, "Every order of this customer")));
}

// Refund by amount or by lines (with restock), as the API takes it; the key is made once per
// form, so a second click of the same refund pays nothing twice.
function refundForm(order, refundable) {
  const key = crypto.randomUUID();
  const byLines = h("input", { type: "radio", name: "mode", id: "mode-lines", value: "lines", checked: true });
  const byAmount = h("input", { type: "radio", name: "mode", id: "mode-amount", value: "amount" });
  const lines = order.items.map((item) => h("div", { class: "field" },
    h("label", { for: `refund-${item.item_id}` }, `${item.name} (${item.quantity} ordered)`),
    h("input", { id: `refund-${item.item_id}`, name: "line", "data-item": item.item_id, type: "number", min: "0", max: String(item.quantity), value: "0" })));
  const amount = h("input", { id: "refund-amount", name: "amount", inputmode: "decimal", pattern: "[0-9]+(\\.[0-9]{1,3})?", placeholder: refundable });
  const restock = h("input", { type: "checkbox", id: "refund-restock", name: "restock", checked: true });
  const reason = h("input", { id: "refund-reason", name: "reason", required: true, maxlength: "200" });
  const form = h("form", { class: "card", "aria-labelledby": "refund-title" },
    h("h2", { id: "refund-title" }, "Refund"),
    h("p", { class: "muted" }, `Up to ${money(refundable, order.currency)} can be paid back.`),
    h("fieldset", { class: "row" }, h("legend", {}, "Refund"),
      h("label", { for: "mode-lines" }, byLines, " lines"), h("label", { for: "mode-amount" }, byAmount, " an amount")),
    h("div", { class: "row", "data-mode": "lines" }, lines, h("label", { for: "refund-restock" }, restock, " Put the units back in stock")),
    h("div", { class: "row", "data-mode": "amount", hidden: true }, field(`Amount (${order.currency})`, amount)),
    h("div", { class: "row" }, field("Reason", reason), h("button", { type: "submit" }, "Refund")));
  const show = () => { for (const part of form.querySelectorAll("[data-mode]")) part.hidden = part.dataset.mode !== (byLines.checked ? "lines" : "amount"); };
  byLines.addEventListener("change", show);
  byAmount.addEventListener("change", show);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { reason: reason.value.trim() };
    if (byLines.checked) {
      body.lines = [...form.querySelectorAll("input[name=line]")].filter((input) => Number(input.value) > 0)
        .map((input) => ({ item_id: input.dataset.item, quantity: Number(input.value) }));
      body.restock = restock.checked;
      if (body.lines.length === 0) { say("Choose the units to refund.", true); return; }
    } else body.amount = amount.value.trim();
    act(form.querySelector("button[type=submit]"), () => api("POST", `/orders/${order.id}/refund`, body, { "idempotency-key": key }),
      "The refund is recorded: the payment provider pays it back in a moment.");
  });
  return form;
}

// What the shop's people said about the order to each other; never shown to the customer.
function notesSection(order, notes) {
  const text = h("textarea", { id: "note-text", name: "note", required: true, maxlength: "1000", rows: "2" });
  const form = h("form", { class: "row" }, h("div", { class: "field grow" }, h("label", { for: "note-text" }, "Add a note"), text),
    h("button", { type: "submit" }, "Add note"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(form.querySelector("button"), () => api("POST", `/orders/${order.id}/notes`, { note: text.value.trim() }), "The note is added.");
  });
  return h("section", { class: "card", "aria-labelledby": "notes-title" }, h("h2", { id: "notes-title" }, "Staff notes"),
    h("p", { class: "muted" }, "Only the shop's staff and the order's sellers see these."),
    notes.length ? h("ul", { class: "notes" }, notes.map((note) => h("li", {}, h("div", {}, note.note),
      h("div", { class: "muted" }, `${actorWords(note.author)} - ${when(note.at)}`)))) : h("p", { class: "muted" }, "No notes yet."),
    form);
}

function returnsSection(order) {
  const returns = order.returns || [];
  if (returns.length === 0) return null;
  const nameOf = (itemId) => (order.items.find((item) => item.item_id === itemId) || { name: itemId }).name;
  return h("section", { class: "card", "aria-labelledby": "returns-title" }, h("h2", { id: "returns-title" }, "Returns"),
    returns.map((ret) => {
      const decide = allowed(order, "approve_return").some((action) => action.return_id === ret.return_id);
      const note = h("input", { id: `return-note-${ret.return_id}`, name: "note", maxlength: "200" });
      return h("div", { class: "part" },
        h("p", {}, h("span", { class: `badge ${ret.status}` }, ret.status.toLowerCase()), ` ${when(ret.requested_at)}: `,
          ret.lines.map((unit) => `${unit.quantity} x ${nameOf(unit.item_id)}`).join(", "), ` - "${ret.reason}"`,
          ret.note ? h("div", { class: "muted" }, ret.note) : ""),
        decide ? h("div", { class: "row" }, field("Note for the customer", note),
          h("button", { type: "button", onclick: (event) => act(event.target, () => api("POST",
            `/orders/${order.id}/returns/${ret.return_id}/approve`, note.value.trim() ? { note: note.value.trim() } : undefined),
          "The return is approved: the units go back to stock and their value is refunded.") }, "Approve return"),
          h("button", { type: "button", class: "danger", onclick: (event) => {
            if (!note.value.trim()) { say("Say why the return is rejected, in the note.", true); note.focus(); return; }
            act(event.target, () => api("POST", `/orders/${order.id}/returns/${ret.return_id}/reject`, { note: note.value.trim() }),
              "The return is rejected.");
          } }, "Reject return")) : null);
    }));
}

function returnForm(order) {
  const reason = h("input", { id: "return-reason", name: "reason", required: true, maxlength: "200" });
  const lines = order.items.map((item) => field(`${item.name} (${item.quantity} delivered)`,
    h("input", { id: `return-${item.item_id}`, name: "line", "data-item": item.item_id, type: "number", min: "0", max: String(item.quantity), value: "0" })));
  const form = h("form", { class: "card", "aria-labelledby": "return-title" }, h("h2", { id: "return-title" }, "Return items"),
    h("div", { class: "row" }, lines), h("div", { class: "row" }, field("Why", reason), h("button", { type: "submit" }, "Ask to return")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = [...form.querySelectorAll("input[name=line]")].filter((input) => Number(input.value) > 0)
      .map((input) => ({ item_id: input.dataset.item, quantity: Number(input.value) }));
    if (chosen.length === 0) { say("Choose what to send back.", true); return; }
    act(form.querySelector("button"), () => api("POST", `/orders/${order.id}/returns`, { lines: chosen, reason: reason.value.trim() }),
      "The return is asked for: the shop answers it soon.");
  });
  return form;
}

// The invoice of a delivered order, laid out to print (the print style sheet shows only it).
function invoiceArticle(invoice) {
  const row = (cells, tag = "td") => h("tr", {}, cells.map(([text, numeric]) => h(tag, { class: numeric ? "n" : "", scope: tag === "th" ? "col" : false }, text)));
  return h("article", { class: "card invoice", "aria-labelledby": "invoice-title" },
    h("h2", { id: "invoice-title" }, `Invoice ${invoice.number}`),
    h("p", {}, `Order ${invoice.order_number || invoice.order_id} - issued ${when(invoice.issued_at)}`),
    h("table", {}, h("thead", {}, row([["Item"], ["Qty", true], ["Unit price", true], ["Amount", true]], "th")),
      h("tbody", {}, invoice.lines.map((line) => row([[line.name], [line.quantity, true], [money(line.unit_price, invoice.currency), true],
        [money(line.subtotal, invoice.currency), true]])))),
    h("table", { class: "totals" }, h("tbody", {}, [["Subtotal", invoice.subtotal], ["Shipping", invoice.shipping_fee], ["Tax", invoice.tax],
      ["Total", invoice.total]].map(([label, amount]) => h("tr", {}, h("th", { scope: "row" }, label), h("td", { class: "n" }, money(amount, invoice.currency)))))));
}

async function orderPage(main, id, query) {
  const order = await api("GET", `/orders/${encodeURIComponent(id)}`);
  const [stats, notes] = isAdmin() ? await Promise.all([api("GET", `/customers/${encodeURIComponent(order.user_id)}/stats`),
    api("GET", `/orders/${order.id}/notes?limit=50`)]) : [null, null];
  const actions = h("div", { class: "row" });
  const intent = order.payment_intent;
  // Started and not declined: Stripe reports the outcome by its webhook, so the page looks again.
  const awaitingStripe = order.status === "PENDING_PAYMENT" && intent && !intent.closed_at;
  if (allowed(order, "pay").length) {
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
  if (allowed(order, "start_fulfilment").length) {
    actions.append(h("button", { type: "button", onclick: (event) => act(event.target,
      () => api("PUT", `/orders/${order.id}/status`, { status: "PROCESSING", note: "sent to the sellers" }), "The order is with its sellers.") },
    "Send to sellers"));
  }
  if (["DELIVERED", "RETURN_REQUESTED", "RETURNED"].includes(order.status)) {
    actions.append(h("button", { type: "button", class: "secondary", onclick: async (event) => {
      event.target.disabled = true;
      try {
        const invoice = await api("GET", `/orders/${order.id}/invoice`);
        const shown = main.querySelector("article.invoice");
        const article = invoiceArticle(invoice);
        if (shown) shown.replaceWith(article); else actions.after(article);
        window.print();
      } catch (err) {
        fail(err.status === 404 ? new Error("The invoice is being issued: try again in a moment.") : err);
      } finally { event.target.disabled = false; }
    } }, "Print invoice"));
  }
  if (allowed(order, "deliver_all").length) {
    actions.append(h("button", { type: "button", class: "secondary", onclick: (event) => act(event.target,
      () => api("PUT", `/orders/${order.id}/status`, { status: "DELIVERED", note: "every part delivered" }), "The order is delivered.") },
    "Mark all delivered"));
  }
  for (const cancel of allowed(order, "cancel")) {
    const refund = Number(cancel.refund) > 0
      ? `${money(cancel.refund, order.currency)} will be refunded to the customer and the items go back to stock.`
      : "Nothing was paid; the held stock is released.";
    actions.append(h("button", { type: "button", class: "danger", onclick: (event) => {
      if (!confirm(`Cancel order ${orderName(order)}? ${refund}`)) return;
      act(event.target, () => api("POST", `/orders/${order.id}/cancel`), "The order is cancelled.");
    } }, "Cancel order"));
  }
  const history = order.status_history;
  const timeline = h("ol", { class: "timeline", "aria-label": "Status timeline" },
    history.map((change, n) => h("li", { class: n === history.length - 1 ? "current" : "", "data-status": change.status },
      badge(change.status), " ", h("time", { datetime: change.timestamp }, when(change.timestamp)),
      h("div", { class: "muted" }, actorWords(change.actor), change.note ? ` - ${noteWords(change.note)}` : ""))));
  // Why an order did not go through, where the customer sees it first.
  const last = history[history.length - 1];
  const problems = order.problems || [];
  const why = order.status === "INVALID"
    ? h("div", { class: "notice error", role: "alert" }, h("strong", {}, "This order could not be placed. "),
      problems.length ? `${problems.map(problemWords).join("; ")}.` : noteWords((last && last.note) || ""))
    : order.status === "CANCELLED" && last && last.note ? h("div", { class: "notice" }, noteWords(last.note))
    : order.status === "PENDING_PAYMENT" && intent && intent.closed_at && allowed(order, "pay").length
      ? h("div", { class: "notice error", role: "alert" }, `The last payment did not go through: pay with another card by ${when(order.payment_due_at)}.`)
      : null;
  const refunds = order.refunds || [];
  const refundable = allowed(order, "refund")[0];
  main.replaceChildren(...[
    h("p", {}, h("a", { href: isAdmin() ? "#/admin" : "#/orders" }, "Back to orders")),
    h("h1", {}, `Order ${orderName(order)} `, badge(order.status)),
    h("p", { class: "muted" }, `Placed ${when(order.created_at)} - payment ${paymentWords(order.payment_status)}`,
      order.payment_due_at && order.status === "PENDING_PAYMENT" ? ` - pay by ${when(order.payment_due_at)}` : ""),
    // Straight from checkout: the confirmation, with the number the customer quotes.
    query && query.get("placed") && !isAdmin() && order.status !== "INVALID"
      ? h("div", { class: "notice", role: "status" }, h("strong", {}, `Thank you: your order number is ${orderName(order)}.`),
        order.status === "PENDING_PAYMENT" ? ` The items are held for you until ${when(order.payment_due_at)}: pay now to keep them.`
          : order.status === "PAID" ? " It is paid: we tell you when it ships." : "") : null,
    why, actions,
    isAdmin() ? customerCard(order, stats) : null,
    partsSection(order),
    returnsSection(order),
    allowed(order, "request_return").length ? returnForm(order) : null,
    refundable ? refundForm(order, refundable.refundable) : null,
    refunds.length ? h("section", { class: "card", "aria-labelledby": "refunds-title" }, h("h2", { id: "refunds-title" }, "Refunds"),
      h("ul", {}, refunds.map((refund) => h("li", {}, `${money(refund.amount, order.currency)} - ${noteWords(refund.reason)} - `,
        (refund.provider_status || refund.status).toLowerCase(), h("span", { class: "muted" }, ` ${when(refund.created_at)}`))))) : null,
    notes ? notesSection(order, notes.notes) : null,
    h("section", { class: "card", "aria-labelledby": "timeline-title" }, h("h2", { id: "timeline-title" }, "Timeline"), timeline),
  ].filter(Boolean));
  return `Order ${orderName(order)}`;
}

// --- Admin: all orders ---------------------------------------------------------------------

// Saved views of the admin list: each is an address, so it can be bookmarked and shared.
const ADMIN_VIEWS = [["To pay", "status=PENDING_PAYMENT"], ["To send to sellers", "status=PAID"], ["Being fulfilled", "status=PROCESSING"],
  ["Returns open", "status=RETURN_REQUESTED"], ["Disputed", "payment_status=DISPUTED"], ["Cancelled", "status=CANCELLED"]];
const PAYMENT_STATUSES = ["PENDING", "PAID", "FAILED", "REFUNDED", "PARTIALLY_REFUNDED", "DISPUTED"];
const ORDER_NUMBER = /^[A-Z0-9]{1,8}-[0-9]{8}-[0-9]{6,}$/i;

// A file of every order the filters match, fetched a call at a time (`Next-Cursor`).
async function exportCsv(query, button) {
  if (query.get("q")) { say("Clear the search to export: the export covers the filters (status, payment, channel, dates), not a search.", true); return; }
  button.disabled = true;
  try {
    const parts = [];
    let cursor = null;
    do {
      const page = new URLSearchParams(query);
      // The export reads the filters; a search and a sort are the list's own.
      for (const name of ["q", "sort"]) page.delete(name);
      if (cursor) page.set("cursor", cursor);
      const response = await fetch(`/api/v1/orders/export?${page}`, { headers: { authorization: `Bearer ${await idToken()}` } });
      if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
      parts.push(await response.text());
      cursor = response.headers.get("next-cursor");
    } while (cursor);
    const link = h("a", { href: URL.createObjectURL(new Blob(parts, { type: "text/csv" })), download: `orders-${today()}.csv` });
    document.body.append(link);
    link.click();
    link.remove();
    say("The export is downloaded.");
  } catch (err) { fail(err); } finally { button.disabled = false; }
}

// A batch's results as they settle: the counts, and each order's outcome.
async function followBatch(batchId, box, reloadList) {
  for (let round = 0; round < 120; round += 1) {
    const status = await api("GET", `/orders/batch-process/${batchId}`);
    const rows = (status.results || []).map((result) => h("tr", {},
      h("td", {}, h("a", { href: `#/orders/${result.order_id}` }, String(result.order_id).slice(-8))),
      h("td", {}, result.result === "succeeded" ? "Done" : `Not done: ${String(result.result).replace(/_/g, " ").toLowerCase()}`)));
    box.replaceChildren(h("h2", { id: "batch-title" }, "Batch results"),
      h("p", { role: "status" }, `${status.succeeded} done, ${status.failed} not done, ${status.pending} waiting (of ${status.total}).`),
      rows.length ? scroller("Batch results", h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Order"),
        h("th", { scope: "col" }, "Result"))), h("tbody", {}, rows))) : "");
    box.hidden = false;
    if (status.pending === 0) { await reloadList(); return; }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function adminPage(main, query) {
  const value = (name) => query.get(name) || "";
  const dateOf = (name) => value(name).slice(0, 10);
  const filters = h("form", { class: "filters card", "aria-label": "Filter orders" },
    field("Search", h("input", { id: "q", name: "q", value: value("q"), placeholder: "order number or id, product, customer email or name" })),
    field("Status", statusSelect("status", value("status"), true)),
    field("Payment", h("select", { id: "payment_status", name: "payment_status" }, h("option", { value: "" }, "Any payment"),
      PAYMENT_STATUSES.map((payment) => h("option", { value: payment, selected: payment === value("payment_status") },
        payment.replace(/_/g, " ").toLowerCase())))),
    field("Channel", h("select", { id: "channel", name: "channel" }, h("option", { value: "" }, "Any channel"),
      ["web", "mobile_app", "whatsapp", "instagram", "marketplace", "pos"].map((channel) =>
        h("option", { value: channel, selected: channel === value("channel") }, channel.replace(/_/g, " "))))),
    field("From", h("input", { type: "date", id: "from", name: "from", value: dateOf("from") })),
    field("To", h("input", { type: "date", id: "to", name: "to", value: dateOf("to") })),
    field("Sort", h("select", { id: "sort", name: "sort" },
      [["-created_at", "Newest"], ["created_at", "Oldest"], ["status", "Status"], ["-total", "Total"]]
        .map(([sort, label]) => h("option", { value: sort, selected: sort === value("sort") }, label)))),
    value("user_id") ? h("input", { type: "hidden", name: "user_id", value: value("user_id") }) : null,
    h("button", { type: "submit" }, "Filter"));
  const views = h("nav", { class: "row views", "aria-label": "Saved views" },
    h("a", { href: "#/admin" }, "All"), ADMIN_VIEWS.map(([label, view]) => h("a", { href: `#/admin?${view}`,
      "aria-current": query.toString() === view ? "page" : false }, label)));
  const table = h("div");
  const results = h("section", { class: "card", "aria-labelledby": "batch-title", hidden: true });
  const batch = h("form", { class: "row card", "aria-label": "Batch action" },
    field("With the selected orders", h("select", { id: "batch-action", name: "action" }, h("option", { value: "cancel" }, "Cancel"),
      ADMIN_TARGETS.filter((s) => s !== "CANCELLED").map((s) => h("option", { value: s }, `Move to ${statusWords(s)}`)))),
    h("button", { type: "submit" }, "Apply to selected"));
  const { load, more } = orderPages(filters, table, 25,
    (rows) => rows.length === 0 ? h("p", { class: "muted" }, "No orders match these filters.") : scroller("Orders", h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, h("span", { class: "skip" }, "Select")), h("th", { scope: "col" }, "Order"),
        h("th", { scope: "col" }, "Customer"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Payment"),
        h("th", { scope: "col", class: "n" }, "Total"))),
      h("tbody", {}, rows))),
    (order) => h("tr", {},
      h("td", {}, h("input", { type: "checkbox", name: "pick", value: order.id, "aria-label": `Select ${orderName(order)}` })),
      h("td", {}, h("a", { href: `#/orders/${order.id}` }, orderName(order)), h("div", { class: "muted" }, when(order.created_at))),
      h("td", {}, order.customer_name || "Customer", h("div", { class: "muted" }, order.customer_email || "")),
      h("td", {}, badge(order.status)),
      h("td", {}, String(order.payment_status).toLowerCase(), order.payment_method ? h("div", { class: "muted" }, order.payment_method) : ""),
      h("td", { class: "n" }, money(order.total, order.currency))),
    (chosen) => history.replaceState(null, "", `#/admin${chosen.toString() ? `?${chosen}` : ""}`));
  batch.addEventListener("submit", async (event) => {
    event.preventDefault();
    const ids = [...table.querySelectorAll("input[name=pick]:checked")].map((box) => box.value);
    if (ids.length === 0) { say("Select orders first.", true); return; }
    const action = batch.elements.action.value;
    const words = action === "cancel" ? "Cancel" : `Move to ${statusWords(action)}`;
    if (!confirm(`${words}: ${ids.length} order${ids.length === 1 ? "" : "s"}? Paid orders that are cancelled are refunded.`)) return;
    try {
      const started = await api("POST", "/orders/batch-process", { items: ids.map((order_id) => ({ order_id, action })) },
        { "idempotency-key": crypto.randomUUID() });
      say(`Batch ${started.batch_id} started for ${ids.length} orders.`);
      await followBatch(started.batch_id, results, () => load(false));
    } catch (err) { fail(err); }
  });
  // An order number goes straight to its order.
  filters.addEventListener("submit", async (event) => {
    const q = filters.elements.q.value.trim();
    if (!ORDER_NUMBER.test(q)) return;
    event.stopImmediatePropagation();
    event.preventDefault();
    try {
      const order = await api("GET", `/orders/by-number/${encodeURIComponent(q.toUpperCase())}`);
      location.hash = `#/orders/${order.id}`;
    } catch (err) { fail(err.status === 404 ? new Error(`No order has the number ${q}.`) : err); }
  }, true);
  const exporter = h("button", { type: "button", class: "secondary", onclick: (event) => exportCsv(params(filters), event.target) }, "Export CSV");
  main.replaceChildren(h("h1", {}, "All orders"), views, filters, h("div", { class: "row" }, exporter), batch, results, table, more);
  await load(false);
  return "All orders";
}

// --- Admin: inventory -----------------------------------------------------------------------

const MOVEMENT_WORDS = { SET: "Set by staff", ADJUSTMENT: "Adjusted", HOLD: "Held for an order", SALE: "Sold",
  RELEASE: "Hold released", RESTOCK: "Back in stock", REBALANCE: "Moved between shards" };
const signed = (n) => (Number(n) > 0 ? `+${n}` : String(n));

async function inventoryPage(main, query) {
  const filters = h("form", { class: "filters card", "aria-label": "Filter products" },
    field("Seller id", h("input", { id: "seller_id", name: "seller_id", value: query.get("seller_id") || "" })),
    h("button", { type: "submit" }, "Filter"));
  const list = h("div");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "More products");
  let cursor = null;
  const load = async (append) => {
    const ask = params(filters);
    ask.set("limit", "25");
    if (append && cursor) ask.set("cursor", cursor);
    if (!append) history.replaceState(null, "", `#/inventory${ask.get("seller_id") ? `?seller_id=${encodeURIComponent(ask.get("seller_id"))}` : ""}`);
    const page = await api("GET", `/inventory?${ask}`);
    cursor = page.next_cursor;
    more.hidden = !cursor;
    const rows = page.products.map((product) => h("tr", {},
      h("td", {}, h("a", { href: `#/inventory/${encodeURIComponent(product.product_id)}` }, product.name), h("div", { class: "muted" }, product.product_id)),
      h("td", {}, product.seller_id), h("td", { class: "n" }, product.price),
      h("td", { class: "n" }, product.on_hand), h("td", { class: "n" }, product.available), h("td", { class: "n" }, product.reserved),
      h("td", { class: "n" }, product.stock_shards)));
    const body = append ? list.querySelector("tbody") : null;
    if (body) { body.append(...rows); return; }
    list.replaceChildren(rows.length === 0 ? h("p", { class: "muted" }, "No products match: add one below.") : scroller("Products", h("table", {},
      h("thead", {}, h("tr", {}, ["Product", "Seller"].map((name) => h("th", { scope: "col" }, name)),
        ["Price", "On hand", "Available", "Reserved", "Shards"].map((name) => h("th", { scope: "col", class: "n" }, name)))),
      h("tbody", {}, rows))));
  };
  filters.addEventListener("submit", (event) => { event.preventDefault(); load(false).catch(fail); });
  more.addEventListener("click", () => load(true).catch(fail));
  const create = h("form", { class: "card", "aria-labelledby": "new-product-title" }, h("h2", { id: "new-product-title" }, "New product"),
    h("div", { class: "row" },
      field("Product id", h("input", { id: "new-id", name: "id", required: true, pattern: "[A-Za-z0-9._:\\-]{1,64}" })),
      field("Name", h("input", { id: "new-name", name: "name", required: true, maxlength: "200" })),
      field("Seller", h("input", { id: "new-seller", name: "seller", required: true, value: query.get("seller_id") || "" })),
      field("Price", h("input", { id: "new-price", name: "price", required: true, inputmode: "decimal", pattern: "[0-9]+(\\.[0-9]{1,2})?" })),
      field("On hand", h("input", { id: "new-on-hand", name: "on_hand", type: "number", min: "0", value: "0", required: true })),
      h("button", { type: "submit" }, "Add product")));
  create.addEventListener("submit", (event) => {
    event.preventDefault();
    const id = create.elements.id.value.trim();
    act(create.querySelector("button"), () => api("PUT", `/inventory/${encodeURIComponent(id)}`, { name: create.elements.name.value.trim(),
      seller_id: create.elements.seller.value.trim(), price: create.elements.price.value.trim(), on_hand: Number(create.elements.on_hand.value) },
    { "if-none-match": "*" }), `Product ${id} is added.`);
  });
  main.replaceChildren(h("h1", {}, "Inventory"), filters, list, more, create);
  await load(false);
  return "Inventory";
}

// One product: its stock and price, edited only if nobody changed it since the page showed it
// (If-Match), adjustments with their reason, and its movements.
async function productPage(main, id) {
  const product = await api("GET", `/inventory/${encodeURIComponent(id)}`);
  const edit = h("form", { class: "card", "aria-labelledby": "edit-title" }, h("h2", { id: "edit-title" }, "Price and stock"),
    h("div", { class: "row" },
      field("Name", h("input", { id: "edit-name", name: "name", required: true, value: product.name, maxlength: "200" })),
      field("Seller", h("input", { id: "edit-seller", name: "seller", required: true, value: product.seller_id })),
      field("Price", h("input", { id: "edit-price", name: "price", required: true, value: product.price, inputmode: "decimal" })),
      field("On hand", h("input", { id: "edit-on-hand", name: "on_hand", type: "number", min: "0", required: true, value: String(product.on_hand) })),
      field("Stock shards", h("input", { id: "edit-shards", name: "shards", type: "number", min: "1", max: "32", value: String(product.stock_shards) })),
      h("button", { type: "submit" }, "Save")));
  edit.addEventListener("submit", (event) => {
    event.preventDefault();
    act(edit.querySelector("button"), async () => {
      try {
        await api("PUT", `/inventory/${encodeURIComponent(id)}`, { name: edit.elements.name.value.trim(), seller_id: edit.elements.seller.value.trim(),
          price: edit.elements.price.value.trim(), on_hand: Number(edit.elements.on_hand.value), stock_shards: Number(edit.elements.shards.value) },
        { "if-match": `"${product.version}"` });
      } catch (err) {
        if (err.status === 412) throw new Error("Someone changed this product since the page showed it: look at it again, and save again.");
        throw err;
      }
    }, "Saved.");
  });
  const key = crypto.randomUUID();
  const adjust = h("form", { class: "card", "aria-labelledby": "adjust-title" }, h("h2", { id: "adjust-title" }, "Adjust stock"),
    h("p", { class: "muted" }, "Units in or out (a negative number takes them out), whatever sells meanwhile."),
    h("div", { class: "row" },
      field("Units", h("input", { id: "adjust-delta", name: "delta", type: "number", required: true })),
      field("Reason", h("input", { id: "adjust-reason", name: "reason", required: true, maxlength: "200" })),
      h("button", { type: "submit" }, "Adjust")));
  adjust.addEventListener("submit", (event) => {
    event.preventDefault();
    const delta = Number(adjust.elements.delta.value);
    if (!Number.isInteger(delta) || delta === 0) { say("Adjust by a whole number of units, not zero.", true); return; }
    act(adjust.querySelector("button"), () => api("POST", `/inventory/${encodeURIComponent(id)}/adjustments`,
      { delta, reason: adjust.elements.reason.value.trim() }, { "idempotency-key": key }), `Stock adjusted by ${signed(delta)}.`);
  });
  const moves = await api("GET", `/inventory/${encodeURIComponent(id)}/movements?limit=25`);
  const movements = moves.movements.length === 0 ? h("p", { class: "muted" }, "No movements recorded yet: they follow each change within seconds.")
    : scroller("Movements", h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "When"), h("th", { scope: "col" }, "What"),
      ["On hand", "Available", "Reserved"].map((name) => h("th", { scope: "col", class: "n" }, name)), h("th", { scope: "col" }, "Why"))),
    h("tbody", {}, moves.movements.map((move) => h("tr", {},
      h("td", {}, when(move.at)), h("td", {}, MOVEMENT_WORDS[move.kind] || move.kind, move.shard ? h("div", { class: "muted" }, `shard ${move.shard}`) : ""),
      h("td", { class: "n" }, signed(move.delta_on_hand)), h("td", { class: "n" }, signed(move.delta_available)), h("td", { class: "n" }, signed(move.delta_reserved)),
      h("td", {}, move.reason || (move.order_id ? h("a", { href: `#/orders/${move.order_id}` }, `order ${String(move.order_id).slice(-8)}`) : ""),
        move.actor ? h("div", { class: "muted" }, actorWords(move.actor)) : ""))))));
  const kpi = (label, text) => h("div", { class: "kpi" }, h("span", { class: "muted" }, label), h("b", {}, text));
  main.replaceChildren(
    h("p", {}, h("a", { href: `#/inventory` }, "Back to inventory")),
    h("h1", {}, product.name),
    h("p", { class: "muted" }, `${product.product_id} - seller ${product.seller_id} - ${product.price}`),
    h("div", { class: "kpis" }, kpi("On hand", product.on_hand), kpi("Available", product.available), kpi("Reserved", product.reserved),
      kpi("Shards", product.stock_shards)),
    adjust, edit,
    h("section", { class: "card", "aria-labelledby": "movements-title" }, h("h2", { id: "movements-title" }, "Movements"), movements));
  return product.name;
}

// --- Admin: sellers -------------------------------------------------------------------------

// The seller registry: every seller with their terms; register one, change one, deactivate one
// (their products then make orders INVALID until they trade again).
async function sellersPage(main) {
  const listed = await api("GET", "/sellers?limit=100");
  const form = (seller) => {
    const id = seller ? seller.seller_id : "";
    const prefix = seller ? `seller-${id}` : "new-seller";
    const f = h("form", { class: "row", "aria-label": seller ? `Edit ${seller.name}` : "Register a seller" },
      seller ? null : field("Seller id", h("input", { id: `${prefix}-id`, name: "id", required: true, pattern: "[A-Za-z0-9._:\\-]{1,64}" })),
      field("Name", h("input", { id: `${prefix}-name`, name: "name", required: true, maxlength: "200", value: seller ? seller.name : "" })),
      field("Email", h("input", { id: `${prefix}-email`, name: "email", type: "email", required: true, value: seller ? seller.email : "" })),
      field("Commission", h("input", { id: `${prefix}-rate`, name: "rate", inputmode: "decimal", placeholder: "shop default",
        value: seller && seller.commission_rate ? seller.commission_rate : "" })),
      h("label", { for: `${prefix}-active` }, h("input", { type: "checkbox", id: `${prefix}-active`, name: "active", checked: seller ? seller.active : true }), " Trading"),
      h("button", { type: "submit" }, seller ? "Save" : "Register"));
    f.addEventListener("submit", (event) => {
      event.preventDefault();
      const sellerId = seller ? id : f.elements.id.value.trim();
      const rate = f.elements.rate.value.trim();
      const body = { name: f.elements.name.value.trim(), email: f.elements.email.value.trim(), active: f.elements.active.checked,
        ...(rate ? { commission_rate: rate } : {}), ...(seller && seller.shipping_fee ? { shipping_fee: seller.shipping_fee } : {}) };
      act(f.querySelector("button"), () => api("PUT", `/sellers/${encodeURIComponent(sellerId)}`, body),
        `${body.name} is ${seller ? "saved" : "registered"}${body.active ? "" : " (not trading)"}.`);
    });
    return f;
  };
  // The people who act for a seller: bound in the user pool by the email they sign in with.
  const people = (seller) => {
    const id = seller.seller_id;
    const path = `/sellers/${encodeURIComponent(id)}/users`;
    const bind = h("form", { class: "row", "aria-label": `Add a user to ${seller.name}` },
      field("User's email", h("input", { id: `seller-${id}-user`, name: "email", type: "email", required: true, autocomplete: "off" })),
      h("button", { type: "submit" }, "Add user"));
    bind.addEventListener("submit", (event) => {
      event.preventDefault();
      const email = bind.elements.email.value.trim();
      act(bind.querySelector("button"), () => api("POST", path, { email }),
        `${email} now acts for ${seller.name}, from their next sign-in.`);
    });
    const users = seller.users || [];
    return h("div", {},
      h("h4", {}, "Users"),
      users.length === 0 ? h("p", { class: "muted" }, "Nobody acts for this seller yet: add the email someone signs in with.")
        : h("ul", { class: "notes" }, users.map((user) => {
          const letGo = h("button", { type: "button", class: "secondary" }, "Remove");
          letGo.setAttribute("aria-label", `Remove ${user.email} from ${seller.name}`);
          letGo.addEventListener("click", () => {
            if (!window.confirm(`${user.email} will no longer act for ${seller.name}: their sessions end within the hour. Go on?`)) return;
            act(letGo, () => api("DELETE", `${path}/${encodeURIComponent(user.email)}`),
              `${user.email} no longer acts for ${seller.name}.`);
          });
          return h("li", {}, h("span", {}, user.email, " "), h("span", { class: "muted" }, `added ${when(user.bound_at)} by ${actorWords(user.bound_by)} `), letGo);
        })),
      bind);
  };
  const rows = listed.sellers.map((seller) => h("section", { class: "part", "aria-label": seller.name },
    h("h3", {}, `${seller.name} `, h("span", { class: `badge ${seller.active ? "PAID" : "CANCELLED"}` }, seller.active ? "trading" : "not trading")),
    h("p", { class: "muted" }, `${seller.seller_id} - ${seller.email}`, " - ",
      h("a", { href: `#/inventory?seller_id=${encodeURIComponent(seller.seller_id)}` }, "products")),
    form(seller), people(seller)));
  main.replaceChildren(h("h1", {}, "Sellers"),
    h("section", { class: "card", "aria-labelledby": "sellers-title" }, h("h2", { id: "sellers-title" }, "Registered sellers"),
      rows.length ? rows : h("p", { class: "muted" }, "No sellers yet: register the first below.")),
    h("section", { class: "card", "aria-labelledby": "register-title" }, h("h2", { id: "register-title" }, "Register a seller"), form(null)),
    h("p", { class: "muted" }, "A user added to a seller acts as the seller's from their next sign-in; once removed, their sessions end within the hour."));
  return "Sellers";
}

// --- Seller portal -------------------------------------------------------------------------

function sellerId() {
  const seller = (claims() || {})["custom:seller_id"];
  return groups().includes("seller") && seller ? seller : null;
}

// A seller's orders: only those holding their part, with the customer's name and address, and
// what they may report about their part; their own figures and payouts above.
async function sellerPage(main) {
  const seller = sellerId();
  const [listed, figures] = await Promise.all([
    api("GET", `/sellers/${encodeURIComponent(seller)}/orders?limit=50`),
    api("GET", `/orders/analytics/sellers/${encodeURIComponent(seller)}`)]);
  const kpi = (label, text) => h("div", { class: "kpi" }, h("span", { class: "muted" }, label), h("b", {}, text));
  const payouts = listed.orders.reduce((sum, order) => sum + Number(order.part.payout || 0), 0);
  const cards = listed.orders.map((order) => {
    const address = order.shipping_address;
    const view = { ...order, id: order.order_id, items: order.items, seller_parts: [order.part], currency: order.currency };
    return h("section", { class: "card part", "data-order": order.order_id, "aria-label": `Order ${order.order_number || order.order_id}` },
      h("h2", {}, `Order ${order.order_number || String(order.order_id).slice(-8)} `, badge(order.status)),
      h("p", { class: "muted" }, `Placed ${when(order.created_at)} - your part: ${partWords(order, order.part)}`,
        order.part.payout ? ` - payout ${money(order.part.payout, order.currency)}` : ""),
      h("p", {}, h("strong", {}, order.customer_name || "Customer"), address ? h("br") : "",
        address ? [address.contact_name, address.line1, address.line2, `${address.postal_code} ${address.city}`, address.country, address.phone]
          .filter(Boolean).join(", ") : ""),
      scroller(`Items of order ${order.order_number || order.order_id}`, h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Item"), h("th", { scope: "col", class: "n" }, "Qty"),
          h("th", { scope: "col", class: "n" }, "Amount"))),
        h("tbody", {}, order.items.map((item) => {
          // The part's own units: fewer than the line's once a refund took some back before shipping.
          const units = (order.part.items.find((unit) => unit.item_id === item.item_id) || item).quantity;
          const amount = units === item.quantity ? item.subtotal : (Math.round(Number(item.unit_price) * 100) * units / 100).toFixed(2);
          return h("tr", {}, h("td", {}, item.name), h("td", { class: "n" }, units), h("td", { class: "n" }, money(amount, order.currency)));
        })))),
      order.part.carrier ? h("p", {}, `Shipped with ${order.part.carrier} ${order.part.tracking_number || ""}`) : "",
      allowed(order, "ship").length ? shippingForm(view, seller) : "",
      deliveryButtons(view, seller, order.allowed_actions || []));
  });
  main.replaceChildren(h("h1", {}, `Seller ${seller}`),
    h("div", { class: "kpis" }, kpi("Orders", figures.orders), kpi("Units", figures.units), kpi("Sales", money(figures.net, "")),
      kpi("Payouts of these orders", payouts.toFixed(2))),
    h("p", { class: "muted" }, `Figures from ${figures.from} to ${figures.to}.`),
    ...(cards.length ? cards : [h("p", { class: "muted" }, "No orders hold a part of yours yet: they appear here once the shop sends them on.")]));
  return "Your orders";
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

// The API reads at most this many days at once; a longer range is fetched in parts.
const MAX_REPORT_DAYS = 92;
const isoDay = (date) => date.toISOString().slice(0, 10);
const addDays = (day, n) => { const date = new Date(`${day}T00:00:00Z`); date.setUTCDate(date.getUTCDate() + n); return isoDay(date); };
const daysBetween = (from, to) => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86400000) + 1;

// Names for ids, read once per page (the reports carry ids only).
async function namesOf(ids, path, field) {
  const unique = [...new Set(ids)];
  const found = await Promise.all(unique.map((id) => api("GET", path(id)).then((item) => item[field]).catch(() => null)));
  return new Map(unique.map((id, n) => [id, found[n] || id]));
}

// A chart and, beside it, the same figures as a table a screen reader (and a spreadsheet) reads.
function chartWithTable(title, days, value, format) {
  return h("div", { class: "chart-pair" }, barChart(title, days, value, format),
    scroller(`${title} per day`, h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Day"), h("th", { scope: "col", class: "n" }, title))),
      h("tbody", {}, days.slice().reverse().map((day) => h("tr", {}, h("td", {}, day.date), h("td", { class: "n" }, format(value(day)))))))));
}

async function analyticsPage(main, query) {
  const to = query.get("to") || isoDay(new Date());
  const from = query.get("from") || addDays(to, -29);
  const range = h("form", { class: "filters card", "aria-label": "Date range" },
    field("From", h("input", { type: "date", id: "range-from", name: "from", value: from, required: true })),
    field("To", h("input", { type: "date", id: "range-to", name: "to", value: to, required: true })),
    h("button", { type: "submit" }, "Show"));
  range.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#/analytics?from=${range.elements.from.value}&to=${range.elements.to.value}`;
  });
  // The heading and the range at once; the figures follow.
  main.replaceChildren(h("h1", {}, "Analytics"), range, h("p", { class: "muted", role: "status" }, "Loading the figures..."));
  const total = daysBetween(from, to);
  if (!(total >= 1)) throw new Error("The range ends before it starts.");
  const parts = [];
  for (let start = from; start <= to; start = addDays(start, MAX_REPORT_DAYS)) {
    const end = addDays(start, MAX_REPORT_DAYS - 1);
    parts.push([start, end < to ? end : to]);
  }
  const span = (part) => `from=${part[0]}&to=${part[1]}`;
  const [dailies, revenues, trends] = await Promise.all([
    Promise.all(parts.map((part) => api("GET", `/orders/analytics/daily?${span(part)}`))),
    Promise.all(parts.map((part) => api("GET", `/orders/analytics/revenue?${span(part)}&granularity=day`))),
    total <= MAX_REPORT_DAYS ? api("GET", `/orders/analytics/trends?from=${from}&to=${to}`) : Promise.resolve(null)]);
  const currency = settings.currency || "";
  const days = dailies.flatMap((daily) => daily.days);
  const sum = (name) => days.reduce((all, day) => all + Number(day[name]), 0);
  const kpi = (label, text) => h("div", { class: "kpi" }, h("span", { class: "muted" }, label), h("b", {}, text));
  const percent = (fraction) => `${(Number(fraction) * 100).toFixed(1)} %`;
  // Each seller's figures over the whole range, summed over the parts.
  const sellers = new Map();
  for (const report of revenues) {
    for (const seller of report.sellers) {
      const sofar = sellers.get(seller.seller_id) || { orders: 0, units: 0, net: 0 };
      sellers.set(seller.seller_id, { orders: sofar.orders + seller.orders, units: sofar.units + seller.units, net: sofar.net + Number(seller.net) });
    }
  }
  const top = trends ? trends.top_products_by_revenue : [];
  const [sellerNames, productNames] = await Promise.all([
    namesOf([...sellers.keys()], (id) => `/sellers/${encodeURIComponent(id)}`, "name"),
    namesOf(top.map((product) => product.product_id), (id) => `/inventory/${encodeURIComponent(id)}`, "name")]);
  const products = top.length === 0 ? h("p", { class: "muted" }, trends ? "No sales in this range." : `Top products and rates are shown for ranges of up to ${MAX_REPORT_DAYS} days.`)
    : scroller("Top products", h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Product"),
      h("th", { scope: "col", class: "n" }, "Units"), h("th", { scope: "col", class: "n" }, "Revenue"))),
    h("tbody", {}, top.map((product) => h("tr", {},
      h("td", {}, productNames.get(product.product_id), h("div", { class: "muted" }, product.product_id)),
      h("td", { class: "n" }, product.units), h("td", { class: "n" }, money(product.revenue, currency)))))));
  const sellerTable = sellers.size === 0 ? h("p", { class: "muted" }, "No seller sold anything in this range.")
    : scroller("Sellers", h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Seller"),
      ["Orders", "Units", "Net sales"].map((name) => h("th", { scope: "col", class: "n" }, name)))),
    h("tbody", {}, [...sellers.entries()].sort((a, b) => b[1].net - a[1].net).map(([id, figures]) => h("tr", {},
      h("td", {}, sellerNames.get(id), h("div", { class: "muted" }, id)), h("td", { class: "n" }, figures.orders),
      h("td", { class: "n" }, figures.units), h("td", { class: "n" }, money(figures.net.toFixed(2), currency)))))));
  main.replaceChildren(h("h1", {}, "Analytics"), range,
    h("p", { class: "muted" }, `${from} to ${to} (${total} UTC days${parts.length > 1 ? `, read in ${parts.length} parts` : ""})`),
    h("div", { class: "kpis" }, kpi("Placed", sum("placed")), kpi("Paid", sum("paid")), kpi("Revenue", money(sum("revenue").toFixed(2), currency)),
      kpi("Refunds", money(sum("refunds").toFixed(2), currency)),
      trends ? kpi("Conversion", percent(trends.conversion_rate)) : null,
      trends ? kpi("Cancellation", percent(trends.cancellation_rate)) : null, trends ? kpi("Expiry", percent(trends.expiry_rate)) : null),
    h("h2", {}, `Revenue per day (${currency})`), chartWithTable("Revenue", days, (day) => Number(day.revenue), (v) => v.toFixed(2)),
    h("h2", {}, "Orders placed per day"), chartWithTable("Placed", days, (day) => day.placed, (v) => String(v)),
    h("h2", {}, "Top products"), products,
    h("h2", {}, "Sellers"), sellerTable);
  return "Analytics";
}

// --- Routing -------------------------------------------------------------------------------

function roleWords() {
  if (isAdmin()) return " (shop staff)";
  const seller = (claims() || {})["custom:seller_id"];
  return groups().includes("seller") && seller ? ` (seller ${seller})` : "";
}

// Draws the page the address names. `moved`: the person went to another page, so the title
// follows and focus goes to the new content; a page drawing itself again keeps both.
async function render(moved) {
  const main = document.getElementById("main");
  const signedIn = Boolean(session());
  const who = claims();
  document.getElementById("who").textContent = signedIn && who ? `${who.name || who.sub}${roleWords()}` : "";
  document.getElementById("signout").hidden = !signedIn;
  document.getElementById("signin").hidden = signedIn;
  for (const link of document.querySelectorAll("[data-admin]")) link.hidden = !isAdmin();
  for (const link of document.querySelectorAll("[data-seller]")) link.hidden = !sellerId();
  for (const link of document.querySelectorAll("[data-customer]")) link.hidden = Boolean(sellerId()) || !signedIn;
  // The shop and the cart are for shoppers: anyone not signed in as staff or a seller.
  for (const link of document.querySelectorAll("[data-shopper]")) link.hidden = Boolean(sellerId()) || isAdmin();
  const [path, search] = location.hash.replace(/^#\/?/, "").split("?");
  const [page, id] = path.split("/");
  const query = new URLSearchParams(search || "");
  // Where an address without a page leads: staff to all orders, sellers to their parts, others to the shop.
  const home = isAdmin() ? "admin" : sellerId() ? "seller" : "shop";
  // An order's page belongs to the list it was found in: staff find orders in All orders.
  const section = page === "orders" && id && isAdmin() ? "admin" : page === "products" ? "shop"
    : page === "checkout" ? "cart" : page || home;
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === section) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  if (moved) main.replaceChildren(h("p", { class: "muted", role: "status" }, "Loading..."));
  let title = "Orders";
  try {
    // The catalogue is public; every other page needs a session.
    if (page === "shop" || (!page && home === "shop")) title = await shopPage(main, query);
    else if (page === "products" && id) title = await catalogueProductPage(main, decodeURIComponent(id));
    else if (!signedIn || page === "signin") title = signInPage(main);
    else if (page === "orders" && id) title = await orderPage(main, decodeURIComponent(id), query);
    else if ((page === "admin" || !page) && isAdmin()) title = await adminPage(main, query);
    else if (sellerId() && (page === "seller" || !page || page === "orders")) title = await sellerPage(main);
    else if (page === "analytics" && isAdmin()) title = await analyticsPage(main, query);
    else if (page === "inventory" && id && isAdmin()) title = await productPage(main, decodeURIComponent(id));
    else if (page === "inventory" && isAdmin()) title = await inventoryPage(main, query);
    else if (page === "sellers" && isAdmin()) title = await sellersPage(main);
    else if (page === "cart") title = await cartPage(main);
    else if (page === "checkout") title = await checkoutPage(main);
    else title = await ordersPage(main);
  } catch (err) {
    // The session ended on the way: the sign-in page is already there.
    if (err.status === 401 && !session()) return;
    if (moved) main.replaceChildren(h("h1", {}, "This page could not be shown"));
    fail(err);
  }
  if (moved) {
    document.title = `${title} - Orders`;
    main.focus();
    showCartCount();
  }
}

// A message stays until the person does something next (not until the page draws itself).
document.addEventListener("click", (event) => { if (event.target.closest("button, a")) say(""); }, true);
document.addEventListener("submit", () => say(""), true);
window.addEventListener("hashchange", () => render(true));
// Another tab signed in or out, or in as someone else: this one follows.
const subjectOf = (stored) => {
  try { return (tokenClaims(JSON.parse(stored).id_token) || {}).sub; } catch (_) { return null; }
};
window.addEventListener("storage", (event) => {
  if (event.key !== SESSION_KEY) return;
  scheduleRefresh();
  if (!event.newValue || !event.oldValue || subjectOf(event.newValue) !== subjectOf(event.oldValue)) render(true);
});
document.addEventListener("DOMContentLoaded", async () => {
  document.getElementById("signout").addEventListener("click", () => signOut());
  document.getElementById("signin").addEventListener("click", () => signIn().catch(fail));
  try {
    const response = await fetch("/config.json");
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    settings = await response.json();
  } catch (err) { say(`The page's settings could not be loaded (${err.message}): reload to try again.`, true); }
  try { await finishSignIn(); } catch (err) { fail(err); }
  scheduleRefresh();
  await render(true);
});
