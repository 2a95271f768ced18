// What every browser test of the pages shares: headless Chromium (Debian's, through
// playwright-core), a record of problems (page errors, console errors, answers of 400 or more a
// step did not expect, axe-core's serious or critical violations), screenshots, and signing in
// through the sign-in page as a person does.

import { createRequire } from "node:module";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";

const require = createRequire(import.meta.url);
const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const modules = path.join(repo, ".local/npm/node_modules");
const { chromium } = require(path.join(modules, "playwright-core"));
const axeSource = readFileSync(path.join(modules, "axe-core/axe.min.js"), "utf8");

export const problems = [];
// Answers of 400 or more a step expects, each taken once: [status, part of the URL].
const expected = [];
export const expect = (status, url) => expected.push([status, url]);

export async function launch(artifactsDir) {
  mkdirSync(artifactsDir, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

// A page that records what goes wrong on it. Generous timeouts: the suite runs this beside its
// concurrency tests on two cores; it proves what a person sees, not how fast a loaded machine
// shows it.
const watched = [];
export function watch(page, label) {
  watched.push([label, page]);
  page.setDefaultTimeout(30000);
  page.on("dialog", (dialog) => dialog.accept());
  page.on("pageerror", (err) => problems.push(`${label}: page error: ${err.message}`));
  // A failed request is reported with its answer below, where a step may expect it.
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) problems.push(`${label}: console: ${message.text()}`);
  });
  page.on("response", (response) => {
    if (response.status() < 400) return;
    // A read answered "briefly unavailable" is tried again by the pages (a loaded machine's
    // DynamoDB Local can be slow); whether the page then shows what it should is the steps' test.
    if (response.status() === 503 && response.request().method() === "GET") return;
    const known = expected.findIndex(([status, url]) => status === response.status() && response.url().includes(url));
    if (known >= 0) expected.splice(known, 1);
    else problems.push(`${label}: ${response.status()} ${response.url()}`);
  });
  return page;
}

// axe-core on what the page shows now: no serious or critical violation. It is evaluated
// through the DevTools protocol, which the pages' content security policy does not govern.
export async function audit(page, name) {
  await page.evaluate(`${axeSource}\n;0`);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  for (const violation of result.violations) {
    if (violation.impact === "serious" || violation.impact === "critical") {
      problems.push(`axe on ${name}: ${violation.id} (${violation.impact}): ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`);
    }
  }
}

// Each screenshot is audited first, and on a phone the page must fit its width: nothing cut
// off, nothing to scroll sideways for.
export const shooter = (page, width, artifactsDir) => async (name) => {
  await audit(page, name);
  if (width < 600) {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (overflow > 0) problems.push(`${name} at ${width} px is ${overflow} px wider than the screen`);
  }
  await page.screenshot({ path: path.join(artifactsDir, `${width}-${name}.png`), fullPage: true });
};

// Through the sign-in page, as a person does: the pages send them there and it sends them back.
export async function signIn(page, user, role, seller) {
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await page.getByLabel("User name").fill(user);
  await page.getByRole("radio", { name: role, exact: true }).check();
  if (seller) await page.getByLabel("Seller id (sellers only)").fill(seller);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("#who").filter({ hasText: user }).waitFor();
}

// Runs the steps; a step that fails leaves, for every page still open, where it was and what it
// showed (in the problems, and as a screenshot), so a failure in CI can be read afterwards.
export async function run(browser, artifactsDir, steps, what) {
  try {
    await steps();
  } catch (err) {
    problems.push(`step failed: ${err.message}`);
    for (const [label, page] of watched.filter(([, page]) => !page.isClosed())) {
      const shown = await page.locator("body").innerText({ timeout: 2000 }).catch(() => "(unreadable)");
      problems.push(`${label} was at ${page.url()} showing: ${shown.replace(/\s+/g, " ").slice(0, 400)}`);
      await page.screenshot({ path: path.join(artifactsDir, `failed-${label.replace(/[^a-z0-9]+/gi, "-")}.png`), fullPage: true })
        .catch(() => {});
    }
  } finally {
    await browser.close();
  }
  finish(what);
}

// Ends the run: every problem seen (and every expected failure that never came) fails it.
export function finish(what) {
  for (const [status, url] of expected) problems.push(`no ${status} answer from ${url} came, though a step asked for one`);
  if (problems.length) {
    console.error(problems.join("\n"));
    process.exit(1);
  }
  console.log(`${what}: every step as expected`);
}

// The delivery address a customer types at checkout.
export const ADDRESS = { "Full name": "Rita Ramos", Address: "1 Main Street", City: "Springfield", "Postal code": "12345",
  "Country (2 letters, e.g. US)": "US" };

export async function fillAddress(page, skip) {
  for (const [label, value] of Object.entries(ADDRESS)) if (label !== skip) await page.getByLabel(label, { exact: true }).fill(value);
}

// From the shop into the cart, as a signed-in customer does.
export async function addFromShop(page, base, name, quantity) {
  await page.goto(`${base}/#/shop`);
  const card = page.getByRole("listitem").filter({ has: page.getByRole("heading", { name, exact: true }) });
  await card.getByLabel("Quantity").fill(String(quantity));
  await card.getByRole("button", { name: "Add to cart" }).click();
  await page.getByText(`${quantity} x ${name} is in your cart.`).waitFor();
}

// From the cart through checkout to the order's confirmation.
export async function checkOut(page, base) {
  await page.goto(`${base}/#/cart`);
  await page.getByRole("link", { name: "Check out" }).click();
  await page.getByRole("heading", { name: "Checkout" }).waitFor();
  await fillAddress(page);
  await page.getByRole("button", { name: /^Place order/ }).click();
  await page.getByText(/Thank you: your order number is/).waitFor();
}
