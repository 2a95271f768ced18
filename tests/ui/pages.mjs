// Drives the web pages in headless Chromium (Debian's, through playwright-core): a customer
// signs in, places an order, pays it by card through localstripe and reads its
// timeline; cancels another; an admin finds the order and opens the analytics. Screenshots go
// to the artifacts folder. Exits non-zero on the first thing that is not as it should be.
//
//   node tests/ui/pages.mjs <base url> <customer token> <admin token> <product id> <artifacts dir>

import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import path from "node:path";

const require = createRequire(import.meta.url);
const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const { chromium } = require(path.join(repo, ".local/npm/node_modules/playwright-core"));

const [base, customerToken, adminToken, productId, artifacts] = process.argv.slice(2);
mkdirSync(artifacts, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const problems = [];
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  // Generous: the suite runs this beside its concurrency tests on two cores; it proves what a
  // person sees, not how fast a loaded machine shows it.
  page.setDefaultTimeout(30000);
  page.on("dialog", (dialog) => dialog.accept());
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (message) => { if (message.type() === "error") problems.push(`console: ${message.text()}`); });
  page.on("response", (response) => { if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`); });
  const rows = (count, what) => page
    .waitForFunction((n) => document.querySelectorAll("main tbody tr").length === n, count, { timeout: 10000 })
    .catch(() => problems.push(what));
  const shot = (name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
  const statuses = () => page.locator(".timeline li").evaluateAll((items) => items.map((item) => item.dataset.status));

  const signIn = async (token) => {
    await page.goto(`${base}/#/signin`);
    await page.getByLabel("Bearer token").fill(token);
    await page.getByRole("button", { name: "Sign in" }).click();
  };

  // A customer places an order.
  await signIn(customerToken);
  await page.getByRole("heading", { name: "My orders" }).waitFor();
  await page.getByLabel("Product id").fill(productId);
  await page.getByLabel("Quantity").fill("2");
  await page.getByRole("button", { name: "Place order" }).click();
  await page.getByRole("button", { name: "Pay now" }).waitFor();
  const orderUrl = page.url();
  const placed = await statuses();
  if (placed.join() !== "CREATED,PENDING_RESERVING_STOCK,PENDING_PAYMENT") problems.push(`timeline after placing: ${placed}`);
  await shot("1-order-placed");

  // It pays by card (the local test-card page stands in for Stripe.js) and comes back; the page
  // shows it paid once localstripe's signed webhook has arrived.
  await page.getByRole("button", { name: "Pay now" }).click();
  await page.getByRole("heading", { name: "Test card payment" }).waitFor();
  await shot("2-checkout");
  await page.getByRole("button", { name: /^Pay [0-9]/ }).click();
  await page.locator('.timeline li[data-status="PAID"]').waitFor({ timeout: 20000 });
  const paid = await statuses();
  if (!paid.includes("PAID")) problems.push(`timeline after paying: ${paid}`);
  if (await page.getByRole("button", { name: "Pay now" }).count() !== 0) problems.push("a paid order still offers to pay");
  await shot("3-order-paid");

  // Another order, cancelled from its page.
  await page.goto(`${base}/#/orders`);
  await page.getByLabel("Product id").fill(productId);
  await page.getByRole("button", { name: "Place order" }).click();
  await page.getByRole("button", { name: "Cancel order" }).waitFor();
  await page.getByRole("button", { name: "Cancel order" }).click();
  await page.locator('.timeline li[data-status="CANCELLED"]').waitFor();

  // A third, left unpaid (the admin cancels it below).
  await page.goto(`${base}/#/orders`);
  await page.getByLabel("Product id").fill(productId);
  await page.getByRole("button", { name: "Place order" }).click();
  await page.getByRole("button", { name: "Pay now" }).waitFor();

  // My orders lists them, filtered by status.
  await page.goto(`${base}/#/orders`);
  await page.getByLabel("Status", { exact: true }).selectOption("CANCELLED");
  await page.getByRole("button", { name: "Filter" }).click();
  await rows(1, "the status filter does not show exactly the cancelled order");
  await shot("4-my-orders");

  // An admin finds the paid order and reads the analytics.
  await signIn(adminToken);
  await page.goto(`${base}/#/admin`);
  await page.getByRole("heading", { name: "All orders" }).waitFor();
  const orderId = decodeURIComponent(orderUrl.split("#/orders/")[1]);
  await page.getByLabel("Search").fill(orderId);
  await page.getByRole("button", { name: "Filter" }).click();
  await rows(1, "the admin's search by id does not find exactly the order");
  await shot("5-admin-orders");
  // A batch action: the unpaid order, found by status, cancelled.
  await page.getByLabel("Search").fill("");
  await page.getByLabel("Status", { exact: true }).selectOption("PENDING_PAYMENT");
  await page.getByRole("button", { name: "Filter" }).click();
  // The one row must be the unpaid order (the search before it also left one row, the paid one).
  await page
    .waitForFunction(() => {
      const found = document.querySelectorAll("main tbody tr");
      return found.length === 1 && found[0].textContent.includes("PENDING PAYMENT");
    }, null, { timeout: 10000 })
    .catch(() => problems.push("the status filter does not show exactly the unpaid order"));
  await page.getByRole("checkbox", { name: /Select / }).first().check();
  await page.getByLabel("With the selected orders").selectOption("cancel");
  await page.getByRole("button", { name: "Apply to selected" }).click();
  await page.getByText(/Batch .* started for 1 orders/).waitFor();
  await rows(0, "the cancelled order is still listed as unpaid");
  await page.goto(`${base}/#/analytics`);
  await page.getByRole("heading", { name: "Analytics" }).waitFor();
  await page.locator("svg.chart").first().waitFor();
  await shot("6-analytics");
} catch (err) {
  problems.push(`step failed: ${err.message}`);
} finally {
  await browser.close();
}
if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(`pages: every step as expected; screenshots in ${artifacts}`);
