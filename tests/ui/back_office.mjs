// The back office in headless Chromium, as its people use it, at the width given (the suite
// runs it on a desktop, 1280 px, and on a phone, 375 px, with fixtures of its own each time):
// - an admin finds an order by the number printed on it (paid, so with its sellers), reads the
//   customer's figures, adds a staff note and ships one seller's part; refunds two lines with
//   restock; approves a return and prints the invoice; runs a batch on a saved view and reads
//   each order's result; adjusts a product's stock with a reason and finds that a price edit
//   made stale by someone else's change is refused; registers a seller; reads the analytics
//   with names, not ids; adds two users to a seller and removes one;
// - a seller the admin added signs in as the seller's, sees only the orders holding their part,
//   ships it, and is refused another seller's order.
// axe-core checks every page shown; on a phone nothing may be wider than the screen. Exits
// non-zero if anything is not as it should be.
//
//   node tests/ui/back_office.mjs <base url> <fixtures JSON> <width> <artifacts dir>

import { expect, launch, problems, run, shooter, signIn, watch } from "./browser.mjs";

const [base, fixturesJson, widthText, artifacts] = process.argv.slice(2);
const fixtures = JSON.parse(fixturesJson);
const width = Number(widthText);
const browser = await launch(artifacts);
const newContext = () => browser.newContext(width < 600
  ? { viewport: { width, height: 800 }, isMobile: true, hasTouch: true }
  : { viewport: { width, height: 900 } });

async function admin() {
  const context = await newContext();
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
  await page.getByLabel(new RegExp(`^${escaped(fixtures.vase)} \\(2 ordered\\)`)).fill("1");
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
  await page.getByRole("link", { name: fixtures.vase, exact: true }).click();
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
  await page.evaluate(async (renamed) => {
    const { id_token: token } = JSON.parse(localStorage.getItem("orders.session"));
    const current = await (await fetch("/api/v1/inventory/vase", { headers: { authorization: `Bearer ${token}` } })).json();
    await fetch("/api/v1/inventory/vase", { method: "PUT", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: renamed, seller_id: current.seller_id, price: current.price, on_hand: current.on_hand }) });
  }, fixtures.renamed);
  expect(412, "/api/v1/inventory/vase");
  await page.getByLabel("Price", { exact: true }).fill(fixtures.price);
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByText("Someone changed this product since the page showed it").waitFor();
  await page.reload();
  await page.getByRole("heading", { name: fixtures.renamed }).waitFor();
  await page.getByLabel("Price", { exact: true }).fill(fixtures.price);
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByText("Saved.").waitFor();

  // A seller registered, and listed with the others.
  await page.getByRole("link", { name: "Sellers" }).click();
  await page.getByRole("heading", { name: "Registered sellers" }).waitFor();
  const register = page.getByRole("form", { name: "Register a seller" });
  await register.getByLabel("Seller id").fill(fixtures.seller.id);
  await register.getByLabel("Name").fill(fixtures.seller.name);
  await register.getByLabel("Email").fill(`${fixtures.seller.id}@sellers.example`);
  await register.getByRole("button", { name: "Register" }).click();
  await page.getByText(`${fixtures.seller.name} is registered.`).waitFor();
  await page.getByRole("heading", { name: new RegExp(`^${escaped(fixtures.seller.name)}`) }).waitFor();
  // The people of Seller Two: vera acts for them (she signs in below), sam is added and removed.
  const sellerTwo = page.getByRole("region", { name: "Seller Two" });
  for (const email of ["vera@example.com", "sam@example.com"]) {
    await sellerTwo.getByLabel("User's email").fill(email);
    await sellerTwo.getByRole("button", { name: "Add user" }).click();
    await page.getByText(`${email} now acts for Seller Two, from their next sign-in.`).waitFor();
  }
  await page.getByRole("button", { name: "Remove sam@example.com from Seller Two" }).click();
  await page.getByText("sam@example.com no longer acts for Seller Two.").waitFor();
  if (await page.getByRole("button", { name: "Remove sam@example.com from Seller Two" }).count()) problems.push("a removed user is still listed");
  await shot("7-sellers");
  await page.getByRole("link", { name: "Analytics" }).click();
  await page.getByRole("heading", { name: "Top products" }).waitFor();
  if (!(await page.getByText("Product lamp").count())) problems.push("the analytics name no product");
  await shot("8-analytics");
  await context.close();
}

async function seller() {
  const context = await newContext();
  const page = watch(await context.newPage(), `seller ${width} px`);
  const shot = shooter(page, width, artifacts);
  await page.goto(`${base}/`);
  // The admin bound her to seller-2 in the user pool: she signs in as the seller's, whatever she picks.
  await signIn(page, "vera", "Customer");
  await page.getByRole("heading", { name: "Seller seller-2" }).waitFor();
  const card = page.locator(`section[data-order="${fixtures.fulfil.id}"]`);
  await card.waitFor({ timeout: 5000 });
  const listed = await page.locator("section[data-order]").evaluateAll((cards) => cards.map((card) => card.dataset.order));
  for (const id of [fixtures.returned.id, ...fixtures.unpaid]) {
    if (listed.includes(id)) problems.push(`seller-2 sees order ${id}, which holds no part of theirs`);
  }
  await shot("seller-1-orders");
  await card.getByLabel("Carrier").fill("UPS");
  await card.getByLabel("Tracking number").fill("TRACK-2");
  await card.getByRole("button", { name: "Mark shipped" }).click();
  await page.getByText("seller-2's part is shipped.").waitFor();
  await shot("seller-2-shipped");
  // Another seller's order is not there for them.
  expect(404, `/api/v1/orders/${fixtures.returned.id}`);
  await page.goto(`${base}/#/orders/${fixtures.returned.id}`);
  await page.getByRole("heading", { name: "This page could not be shown" }).waitFor();
  await context.close();
}

// Text for a regular expression that matches it literally.
function escaped(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

await run(browser, artifacts, async () => {
  await admin();
  await seller();
}, `back office at ${width} px (screenshots in ${artifacts})`);
