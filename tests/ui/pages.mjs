// Drives the web pages in headless Chromium (Debian's, through playwright-core) as people use
// them, at 1280 px and at 375 px:
// - a customer signs in through the sign-in page (the local stand-in for Cognito's hosted UI),
//   buys from the shop, pays by card through localstripe and reads the order's timeline; cancels
//   another; an admin finds the order and runs a batch, and opens the analytics;
// - on a phone: a deep link survives sign-in, a new tab shares the session, the ID token is
//   refreshed before it ends, and signing out ends the session everywhere.
// axe-core checks every page shown; a console error or a failed request is a problem.
// Screenshots go to the artifacts folder. Exits non-zero if anything is not as it should be.
//
//   node tests/ui/pages.mjs <base url> <product name> <artifacts dir>

import { addFromShop, checkOut, expect, launch, problems, run, shooter as shooterIn, signIn, watch } from "./browser.mjs";

const [base, productName, artifacts] = process.argv.slice(2);
const browser = await launch(artifacts);
const shooter = (page, width) => shooterIn(page, width, artifacts);

const session = (page) => page.evaluate(() => JSON.parse(localStorage.getItem("orders.session")));
const statuses = (page) => page.locator(".timeline li").evaluateAll((items) => items.map((item) => item.dataset.status));

async function desktop() {
  const width = 1280;
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  const page = watch(await context.newPage(), `${width} px`);
  const shot = shooter(page, width);
  const rows = (count, what) => page
    .waitForFunction((n) => document.querySelectorAll("main tbody tr").length === n, count, { timeout: 10000 })
    .catch(() => problems.push(what));

  await page.goto(`${base}/#/orders`);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await shot("0-signed-out");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByLabel("User name").waitFor();
  await shot("0-sign-in-page");
  await page.getByLabel("User name").fill("alice");
  await page.getByLabel("Customer").check();
  await page.getByRole("button", { name: "Sign in" }).click();

  // A customer buys from the shop.
  await page.getByRole("heading", { name: "My orders" }).waitFor();
  await page.waitForFunction(() => document.title === "My orders - Orders", null, { timeout: 10000 })
    .catch(async () => problems.push(`the title of My orders is ${await page.title()}`));
  await addFromShop(page, base, productName, 2);
  await checkOut(page, base);
  await page.getByRole("button", { name: "Pay now" }).waitFor();
  const orderId = decodeURIComponent(page.url().split("#/orders/")[1].split("?")[0]);
  const orderUrl = `${base}/#/orders/${encodeURIComponent(orderId)}`;
  const placed = await statuses(page);
  if (placed.join() !== "CREATED,PENDING_RESERVING_STOCK,PENDING_PAYMENT") problems.push(`timeline after placing: ${placed}`);
  if (await page.locator(".timeline").getByText("system:").count()) problems.push("the timeline shows internal actor names");
  await shot("1-order-placed");

  // It pays by card (the local test-card page stands in for Stripe.js) and comes back; the page
  // shows it paid once localstripe's signed webhook has arrived.
  await page.getByRole("button", { name: "Pay now" }).click();
  await page.getByRole("heading", { name: "Test card payment" }).waitFor();
  await shot("2-checkout");
  await page.getByRole("button", { name: /^Pay [0-9]/ }).click();
  await page.locator('.timeline li[data-status="PAID"]').waitFor({ timeout: 20000 });
  if (await page.getByRole("button", { name: "Pay now" }).count() !== 0) problems.push("a paid order still offers to pay");
  await shot("3-order-paid");

  // Another order, cancelled from its page: the reason is in words.
  await addFromShop(page, base, productName, 1);
  await checkOut(page, base);
  await page.getByRole("button", { name: "Cancel order" }).click();
  await page.locator('.timeline li[data-status="CANCELLED"]').waitFor();
  if (!(await page.getByText("Cancelled on request").first().isVisible())) problems.push("the cancellation's reason is not in words");
  if (await page.getByText("CANCELLED_BY_REQUEST").count()) problems.push("the page shows CANCELLED_BY_REQUEST");

  // A third, left unpaid (the admin cancels it below).
  await addFromShop(page, base, productName, 1);
  await checkOut(page, base);
  await page.getByRole("button", { name: "Pay now" }).waitFor();

  // My orders lists them, filtered by status.
  await page.goto(`${base}/#/orders`);
  await page.getByLabel("Status", { exact: true }).selectOption("CANCELLED");
  await page.getByRole("button", { name: "Filter" }).click();
  await rows(1, "the status filter does not show exactly the cancelled order");
  await shot("5-my-orders");

  // An admin signs in (after the customer signs out) and finds the paid order.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Shop" }).waitFor();
  await signIn(page, "shop-admin", "Shop admin");
  await page.goto(`${base}/#/admin`);
  await page.getByRole("heading", { name: "All orders" }).waitFor();
  await page.getByLabel("Search").fill(orderId);
  await page.getByRole("button", { name: "Filter" }).click();
  await rows(1, "the admin's search by id does not find exactly the order");
  await shot("6-admin-orders");
  // A batch action: the unpaid order, found by status, cancelled.
  await page.getByLabel("Search").fill("");
  await page.getByLabel("Status", { exact: true }).selectOption("PENDING_PAYMENT");
  await page.getByRole("button", { name: "Filter" }).click();
  await page
    .waitForFunction(() => {
      const found = document.querySelectorAll("main tbody tr");
      return found.length === 1 && found[0].textContent.includes("Awaiting payment");
    }, null, { timeout: 10000 })
    .catch(() => problems.push("the status filter does not show exactly the unpaid order"));
  await page.getByRole("checkbox", { name: /Select / }).first().check();
  await page.getByLabel("With the selected orders").selectOption("cancel");
  await page.getByRole("button", { name: "Apply to selected" }).click();
  await page.getByText(/Batch .* started for 1 orders/).waitFor();
  await page.getByText("No orders match these filters.").waitFor({ timeout: 10000 })
    .catch(() => problems.push("the cancelled order is still listed as unpaid"));
  await page.goto(`${base}/#/analytics`);
  await page.getByRole("heading", { name: "Analytics" }).waitFor();
  await page.locator("svg.chart").first().waitFor();
  await shot("7-analytics");
  await context.close();
  return orderUrl;
}

async function phone(orderUrl) {
  const width = 375;
  const context = await browser.newContext({ viewport: { width, height: 800 }, isMobile: true, hasTouch: true });
  const page = watch(await context.newPage(), `${width} px`);
  const shot = shooter(page, width);

  // A deep link to the order, opened signed out: after signing in, that order is shown.
  await page.goto(orderUrl);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await signIn(page, "alice", "Customer");
  await page.getByRole("heading", { name: /^Order / }).waitFor();
  if (page.url() !== orderUrl) problems.push(`the deep link came back as ${page.url()}`);
  if (new URL(page.url()).search) problems.push("the sign-in code stayed in the address");
  // Nothing is cut off: the totals and every column of the items are there to read.
  const total = page.locator(".totals td").last();
  if (!(await total.isVisible()) || !/[0-9]/.test(await total.textContent())) problems.push("the order total is not shown at 375 px");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (overflow > 0) problems.push(`the order page is ${overflow} px wider than the phone`);
  await shot("1-order-after-sign-in");

  // A new tab is signed in as well.
  const other = watch(await context.newPage(), `${width} px, second tab`);
  await other.goto(`${base}/#/orders`);
  await other.getByRole("heading", { name: "My orders" }).waitFor();
  await other.getByRole("link", { name: /^ORD-/ }).first().waitFor();
  await shot("2-my-orders");

  // An ID token about to end is refreshed with the refresh token, once, by whichever tab sees
  // it first (both read the same session).
  const before = await session(page);
  const refreshed = context.waitForEvent("request", (request) => request.url().endsWith("/oauth2/token")
    && (request.postData() || "").includes("grant_type=refresh_token"));
  await page.evaluate(() => {
    const kept = JSON.parse(localStorage.getItem("orders.session"));
    kept.expires_at = Date.now() + 60 * 1000;
    localStorage.setItem("orders.session", JSON.stringify(kept));
  });
  await refreshed;
  await page.reload();
  await page.getByRole("heading", { name: /^Order / }).waitFor();
  const after = await session(page);
  if (!(after.expires_at > Date.now() + 50 * 60 * 1000)) problems.push("the refreshed session does not last another hour");
  if (after.id_token === before.id_token && after.expires_at === before.expires_at) problems.push("the session was not refreshed");
  if (after.refresh_token !== before.refresh_token) problems.push("the refresh token changed on refresh");

  // Signing out ends the session in both tabs, and the refresh token no longer works.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Shop" }).waitFor();
  await other.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: 10000 })
    .catch(() => problems.push("the other tab stayed signed in"));
  expect(400, "/oauth2/token");
  const reused = await page.evaluate(async (token) => {
    const answer = await fetch("/oauth2/token", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", client_id: "orders-local", refresh_token: token }) });
    return answer.status;
  }, before.refresh_token);
  if (reused !== 400) problems.push(`a revoked refresh token was answered ${reused}`);
  await shot("3-signed-out");
  await context.close();
}

await run(browser, artifacts, async () => {
  const orderUrl = await desktop();
  await phone(orderUrl);
}, `pages (screenshots in ${artifacts})`);
