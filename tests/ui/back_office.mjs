// The back office in headless Chromium, as its people use it:
// - an admin (1280 px) finds an order by the number printed on it (paid, so with its sellers),
//   reads the customer's figures, adds a staff note and ships one seller's part; refunds two
//   lines with restock; approves a return and prints the invoice; runs a batch on a saved view
//   and reads each order's result; adjusts a product's stock with a reason and finds that a
//   price edit made stale by someone else's change is refused; registers a seller; reads the
//   analytics with names, not ids;
// - a seller (375 px) sees only the orders holding their part, ships it, and is refused another
//   seller's order; the admin's order page at 375 px loses nothing.
// axe-core checks every page shown. Exits non-zero if anything is not as it should be.
//
//   node tests/ui/back_office.mjs <base url> <fixtures JSON> <artifacts dir>

import { expect, launch, problems, run, shooter, signIn, watch } from "./browser.mjs";

const [base, fixturesJson, artifacts] = process.argv.slice(2);
const fixtures = JSON.parse(fixturesJson);
const browser = await launch(artifacts);

async function admin() {
  const width = 1280;
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  const page = watch(await context.newPage(), `admin ${width} px`);
  const shot = shooter(page, width, artifacts);
  await page.goto(`${base}/#/admin`);
  await signIn(page, "shop-admin", "Shop admin");
  await page.getByRole("heading", { name: "All orders" }).waitFor();

  // The number printed on the order finds it.
  await page.getByLabel("Search").fill(fixtures.fulfil.number);
  await page.getByRole("button", { name: "Filter" }).click();
  await page.getByRole("heading", { name: `Order ${fixtures.fulfil.number}` }).waitFor();
  if (!(await page.getByRole("heading", { name: "Customer" }).isVisible())) problems.push("the admin's order page has no customer card");
  // The figures follow the order's events within seconds; that they are shown is what counts here.
  if (!(await page.getByText(/[0-9]+ orders?, [0-9.]+ USD spent/).count())) {
    problems.push("the customer card shows no figures");
  }
  await page.getByLabel("Add a note").fill("customer asked for gift wrapping");
  await page.getByRole("button", { name: "Add note" }).click();
  await page.getByText("The note is added.").waitFor();
  await page.locator("ul.notes").getByText("customer asked for gift wrapping").waitFor();
  await shot("1-order-found");
  const part = page.locator('.part[data-seller="seller-1"]');
  await part.getByLabel("Carrier").fill("DHL");
  await part.getByLabel("Tracking number").fill("TRACK-1");
  await part.getByRole("button", { name: "Mark shipped" }).click();
  await page.getByText("seller-1's part is shipped.").waitFor();
  await page.locator("h1 .badge.PARTIALLY_SHIPPED").waitFor();
  if (await page.locator('.part[data-seller="seller-1"]').getByRole("button", { name: "Mark shipped" }).count()) {
    problems.push("a shipped part still offers to ship");
  }
  await shot("2-part-shipped");

  // Two lines refunded, their units back in stock; the form is answered once.
  await page.goto(`${base}/#/orders/${fixtures.refund.id}`);
  await page.getByRole("heading", { name: "Refund" }).waitFor();
  await page.getByLabel(/^Product lamp \(2 ordered\)/).fill("1");
  await page.getByLabel(/^Product vase \(2 ordered\)/).fill("1");
  await page.getByLabel("Reason").fill("damaged in the warehouse");
  await page.getByRole("button", { name: "Refund", exact: true }).click();
  await page.getByText("The refund is recorded").waitFor();
  await page.getByRole("heading", { name: "Refunds" }).waitFor();
  await shot("3-refunded");

  // A return approved.
  await page.goto(`${base}/#/orders/${fixtures.returned.id}`);
  await page.getByRole("button", { name: "Approve return" }).click();
  await page.getByText("The return is approved").waitFor();
  if (await page.getByRole("button", { name: "Approve return" }).count()) problems.push("a decided return still offers a decision");
  await shot("4-return-approved");
  // Its invoice, printed alone (the print dialog is stood in for).
  await page.evaluate(() => { window.print = () => { window.printed = true; }; });
  await page.getByRole("button", { name: "Print invoice" }).click();
  await page.getByRole("heading", { name: /^Invoice INV-[0-9]+$/ }).waitFor();
  if (!(await page.evaluate(() => window.printed))) problems.push("printing the invoice did not print");
  await page.emulateMedia({ media: "print" });
  if (await page.locator(".timeline").isVisible()) problems.push("the printed invoice carries the rest of the page");
  await shot("4-invoice-printed");
  await page.emulateMedia({ media: "screen" });

  // A batch on the saved view of unpaid orders, each order's result shown as it settles.
  await page.goto(`${base}/#/admin`);
  await page.getByRole("link", { name: "To pay" }).click();
  await page.waitForFunction((n) => document.querySelectorAll("main tbody tr").length === n, fixtures.unpaid.length);
  if (!page.url().includes("status=PENDING_PAYMENT")) problems.push(`the saved view is not in the address: ${page.url()}`);
  for (const box of await page.getByRole("checkbox", { name: /Select / }).all()) await box.check();
  await page.getByLabel("With the selected orders").selectOption("cancel");
  await page.getByRole("button", { name: "Apply to selected" }).click();
  await page.getByText(`${fixtures.unpaid.length} done, 0 not done, 0 waiting`).waitFor({ timeout: 30000 });
  await page.getByText("No orders match these filters.").waitFor();
  await shot("5-batch");

  // Stock adjusted with its reason, and a price edit that someone else's change made stale is
  // refused until the page has been looked at again.
  await page.getByRole("link", { name: "Inventory" }).click();
  await page.getByLabel("Seller id").fill("seller-2");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.getByRole("link", { name: "Product vase" }).click();
  await page.getByRole("heading", { name: "Adjust stock" }).waitFor();
  await page.getByLabel("Units").fill("5");
  await page.getByLabel("Reason").fill("delivery from the supplier");
  await page.getByRole("button", { name: "Adjust" }).click();
  await page.getByText("Stock adjusted by +5.").waitFor();
  // The movement is recorded from the table's stream within seconds: look again until it is.
  for (let tries = 0; tries < 20 && !(await page.getByText("delivery from the supplier").count()); tries += 1) {
    await page.waitForTimeout(500);
    await page.reload();
    await page.getByRole("heading", { name: "Movements" }).waitFor();
  }
  if (!(await page.getByText("delivery from the supplier").count())) problems.push("the adjustment's movement is not shown with its reason");
  await shot("6-stock-adjusted");
  await page.evaluate(async () => {
    const { id_token: token } = JSON.parse(localStorage.getItem("orders.session"));
    const current = await (await fetch("/api/v1/inventory/vase", { headers: { authorization: `Bearer ${token}` } })).json();
    await fetch("/api/v1/inventory/vase", { method: "PUT", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Vase (blue)", seller_id: current.seller_id, price: current.price, on_hand: current.on_hand }) });
  });
  expect(412, "/api/v1/inventory/vase");
  await page.getByLabel("Price", { exact: true }).fill("13.00");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByText("Someone changed this product since the page showed it").waitFor();
  await page.reload();
  await page.getByRole("heading", { name: "Vase (blue)" }).waitFor();
  await page.getByLabel("Price", { exact: true }).fill("13.00");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByText("Saved.").waitFor();

  // A seller registered, and listed with the others.
  await page.getByRole("link", { name: "Sellers" }).click();
  await page.getByRole("heading", { name: "Registered sellers" }).waitFor();
  const register = page.getByRole("form", { name: "Register a seller" });
  await register.getByLabel("Seller id").fill("seller-3");
  await register.getByLabel("Name").fill("Seller Three");
  await register.getByLabel("Email").fill("three@sellers.example");
  await register.getByRole("button", { name: "Register" }).click();
  await page.getByText("Seller Three is registered.").waitFor();
  await page.getByRole("heading", { name: /^Seller Three/ }).waitFor();
  await shot("7-sellers");
  await page.getByRole("link", { name: "Analytics" }).click();
  await page.getByRole("heading", { name: "Top products" }).waitFor();
  if (!(await page.getByText("Product lamp").count())) problems.push("the analytics name no product");
  await shot("8-analytics");
  await context.close();
}

async function seller() {
  const width = 375;
  const context = await browser.newContext({ viewport: { width, height: 800 }, isMobile: true, hasTouch: true });
  const page = watch(await context.newPage(), `seller ${width} px`);
  const shot = shooter(page, width, artifacts);
  await page.goto(`${base}/`);
  await signIn(page, "vera", "Seller", "seller-2");
  await page.getByRole("heading", { name: "Seller seller-2" }).waitFor();
  const card = page.locator(`section[data-order="${fixtures.fulfil.id}"]`);
  await card.waitFor({ timeout: 5000 }).catch(async (err) => {
    await page.screenshot({ path: `${artifacts}/debug-seller.png`, fullPage: true });
    throw err;
  });
  const listed = await page.locator("section[data-order]").evaluateAll((cards) => cards.map((card) => card.dataset.order));
  for (const id of [fixtures.returned.id, ...fixtures.unpaid]) {
    if (listed.includes(id)) problems.push(`seller-2 sees order ${id}, which holds no part of theirs`);
  }
  await shot("1-seller-orders");
  await card.getByLabel("Carrier").fill("UPS");
  await card.getByLabel("Tracking number").fill("TRACK-2");
  await card.getByRole("button", { name: "Mark shipped" }).click();
  await page.getByText("seller-2's part is shipped.").waitFor();
  await shot("2-seller-shipped");
  // Another seller's order is not there for them.
  expect(404, `/api/v1/orders/${fixtures.returned.id}`);
  await page.goto(`${base}/#/orders/${fixtures.returned.id}`);
  await page.getByRole("heading", { name: "This page could not be shown" }).waitFor();
  await context.close();

  // The admin's order page on a phone: nothing cut off.
  const phone = await browser.newContext({ viewport: { width, height: 800 }, isMobile: true, hasTouch: true });
  const adminPage = watch(await phone.newPage(), `admin ${width} px`);
  await adminPage.goto(`${base}/#/orders/${fixtures.fulfil.id}`);
  await signIn(adminPage, "shop-admin", "Shop admin");
  await adminPage.getByRole("heading", { name: `Order ${fixtures.fulfil.number}` }).waitFor();
  const overflow = await adminPage.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (overflow > 0) problems.push(`the admin's order page is ${overflow} px wider than the phone`);
  await shooter(adminPage, width, artifacts)("3-admin-order");
  await phone.close();
}

await run(browser, artifacts, async () => {
  await admin();
  await seller();
}, `back office (screenshots in ${artifacts})`);
