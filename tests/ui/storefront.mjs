// The storefront in headless Chromium, each journey at 375 px and at 1280 px, as customers use it:
// - from the catalogue to PAID by card: search, the product page, the cart, checkout with an
//   address the API corrects field by field, the confirmation with the order number, a declined
//   card, then another card that pays (through localstripe);
// - a price changed after the product went into the cart is shown and accepted before paying;
// - sold out at checkout: the page names the product and offers to change the quantity;
// - a paid order cancelled, the page stating the refund;
// - a return asked for on a delivered order, which an admin approves in the back office.
// axe-core checks every page shown; a console error or an unexpected failed request fails it.
//
//   node tests/ui/storefront.mjs <base url> <admin token> <delivered order at 375> <at 1280> <artifacts dir>

import { addFromShop, checkOut, expect, fillAddress, launch, problems, run, shooter as shooterIn, signIn, watch }
  from "./browser.mjs";

const [base, adminToken, delivered375, delivered1280, artifacts] = process.argv.slice(2);
const browser = await launch(artifacts);

// What the shop's staff do meanwhile, through the API.
async function admin(method, path, body) {
  const response = await fetch(`${base}/api/v1${path}`, { method,
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" }, body: body && JSON.stringify(body) });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}
const stock = (sku, name, price, onHand) => admin("PUT", `/inventory/${sku}`,
  { name, seller_id: "seller-1", price, on_hand: onHand, description: `${name}, made to last.\nShips in two days.` });

async function payWith(page, card) {
  await page.getByRole("button", { name: /^Pay (now|with another card)$/ }).click();
  await page.getByRole("heading", { name: "Test card payment" }).waitFor();
  await page.getByLabel("Card number").fill(card);
  await page.getByRole("button", { name: /^Pay [0-9]/ }).click();
}

async function customer(width, user) {
  const context = await browser.newContext({ viewport: { width, height: width < 500 ? 800 : 900 } });
  const page = watch(await context.newPage(), `${user} ${width} px`);
  await page.goto(`${base}/#/shop`);
  await page.getByRole("heading", { name: "Shop" }).waitFor();
  await signIn(page, user, "Customer");
  return { context, page, shot: shooterIn(page, width, artifacts) };
}

// Catalogue to PAID: a declined card first, then one that pays.
async function catalogueToPaid(width) {
  const name = `Enamel mug ${width}`;
  await stock(`mug-${width}`, name, "12.50", 10);
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  const page = watch(await context.newPage(), `shopper ${width} px`);
  const shot = shooterIn(page, width, artifacts);
  // Anyone browses and finds it by a word of its name, signed in or not.
  await page.goto(`${base}/`);
  await page.getByRole("heading", { name: "Shop" }).waitFor();
  await page.getByLabel("Search products").fill(`ENAMEL ${width}`);
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("heading", { name: `Results for "ENAMEL ${width}"` }).waitFor();
  await page.getByRole("heading", { name, exact: true }).waitFor({ timeout: 15000 });
  await shot("1-search");
  await page.getByRole("link", { name }).click();
  await page.getByRole("heading", { level: 1, name }).waitFor();
  if (!(await page.getByText("Ships in two days.").isVisible())) problems.push(`${width}: the product page lacks its description`);
  if (!(await page.getByText("12.50 USD").first().isVisible())) problems.push(`${width}: the product page lacks its price`);
  await shot("2-product");
  // Adding to the cart asks to sign in, and comes back to the product.
  await page.getByRole("button", { name: "Add to cart" }).click();
  await page.getByLabel("User name").fill(`shopper-${width}`);
  await page.getByRole("radio", { name: "Customer", exact: true }).check();
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { level: 1, name }).waitFor();
  await page.getByLabel("Quantity").fill("2");
  await page.getByRole("button", { name: "Add to cart" }).click();
  await page.getByText(`2 x ${name} is in your cart.`).waitFor();
  await page.getByRole("link", { name: "Cart (2)" }).click();
  await page.getByRole("heading", { name: "Your cart" }).waitFor();
  if (!(await page.getByText("25.00 USD").first().isVisible())) problems.push(`${width}: the cart does not total 2 x 12.50`);
  await shot("3-cart");
  // Checkout: a missing city is said beside the city, by the API.
  await page.getByRole("link", { name: "Check out" }).click();
  await fillAddress(page, "City");
  expect(422, "/api/v1/cart/checkout");
  await page.getByRole("button", { name: /^Place order/ }).click();
  const cityError = page.locator("#ship-city-error");
  await cityError.filter({ hasText: /./ }).waitFor();
  if ((await page.getByLabel("City", { exact: true }).getAttribute("aria-invalid")) !== "true") problems.push(`${width}: the city is not marked invalid`);
  await shot("4-address-error");
  await page.getByLabel("City", { exact: true }).fill("Springfield");
  await page.getByRole("button", { name: /^Place order/ }).click();
  await page.getByText(/Thank you: your order number is [A-Z0-9]+-[0-9]{8}-[0-9]+\./).waitFor();
  await shot("5-confirmation");
  // A declined card: the order stays payable; another card pays it.
  expect(402, "/test-card/");
  await payWith(page, "4000000000000341");
  await page.getByRole("heading", { name: "Card declined" }).waitFor();
  await page.getByRole("link", { name: /back/i }).click();
  await page.getByRole("button", { name: "Pay with another card" }).waitFor({ timeout: 20000 });
  if (!(await page.getByText(/Payment failed/).first().isVisible())) problems.push(`${width}: the timeline does not show the declined card`);
  await shot("6-declined");
  await payWith(page, "4242424242424242");
  await page.locator('.timeline li[data-status="PAID"]').waitFor({ timeout: 20000 });
  await shot("7-paid");
  await page.goto(`${base}/#/orders`);
  await page.getByRole("heading", { name: "My orders" }).waitFor();
  // Paid, and maybe already on to its sellers: listed either way.
  await page.locator("main tbody tr").first().waitFor();
  await shot("8-my-orders");
  await page.goto(`${base}/#/cart`);
  await page.getByText("Your cart is empty.").waitFor();
  await context.close();
}

// A price changed after the product went into the cart: shown, and accepted, before paying.
async function priceChange(width) {
  const name = `Linen towel ${width}`;
  await stock(`towel-${width}`, name, "8.00", 10);
  const { context, page, shot } = await customer(width, `towels-${width}`);
  await addFromShop(page, base, name, 1);
  await stock(`towel-${width}`, name, "9.50", 10);
  await page.goto(`${base}/#/cart`);
  await page.getByText("The price changed from 8.00 USD to 9.50 USD since you added it.").waitFor();
  await page.getByRole("link", { name: "Check out" }).click();
  await page.getByRole("heading", { name: "Checkout" }).waitFor();
  await fillAddress(page);
  // What is charged once accepted, before paying: today's price.
  await page.getByRole("button", { name: "Place order - 9.50 USD" }).waitFor();
  await shot("9-price-changed");
  await page.getByRole("button", { name: /^Place order/ }).click();
  await page.getByText("Accept the new prices to place the order, or change your cart.").waitFor();
  await page.getByLabel("I accept the new prices above").check();
  await page.getByRole("button", { name: /^Place order/ }).click();
  await page.getByText(/Thank you: your order number is/).waitFor();
  if (!(await page.getByText("9.50 USD").first().isVisible())) problems.push(`${width}: the order does not charge the new price`);
  await context.close();
}

// Sold out at checkout: the product is named, and its quantity changed to what is left.
async function soldOutAtCheckout(width) {
  const name = `Oak board ${width}`;
  const sku = `board-${width}`;
  await stock(sku, name, "30.00", 3);
  const { context, page, shot } = await customer(width, `boards-${width}`);
  await addFromShop(page, base, name, 3);
  await admin("POST", `/inventory/${sku}/adjustments`, { delta: -2, reason: "damaged in the shop" });
  await page.goto(`${base}/#/checkout`);
  await page.getByRole("heading", { name: "Checkout" }).waitFor();
  await fillAddress(page);
  expect(409, "/api/v1/cart/checkout");
  await page.getByRole("button", { name: /^Place order/ }).click();
  await page.getByText(`${name}: only 1 left (you asked for 3).`).waitFor();
  await shot("10-sold-out");
  await page.getByRole("button", { name: "Change to 1" }).click();
  await page.getByRole("button", { name: /^Place order - 30\.00/ }).waitFor();
  // The page drew itself again with the new quantity; what was typed is still there.
  if ((await page.getByLabel("City", { exact: true }).inputValue()) !== "Springfield") problems.push(`${width}: the address was lost`);
  await page.getByRole("button", { name: /^Place order/ }).click();
  await page.getByText(/Thank you: your order number is/).waitFor();
  await context.close();
}

// A paid order cancelled from its page, which says what is refunded.
async function cancelPaid(width) {
  const name = `Tea tin ${width}`;
  await stock(`tin-${width}`, name, "6.00", 5);
  const { context, page, shot } = await customer(width, `tins-${width}`);
  await addFromShop(page, base, name, 1);
  await checkOut(page, base);
  await payWith(page, "4242424242424242");
  await page.locator('.timeline li[data-status="PAID"]').waitFor({ timeout: 20000 });
  let asked = "";
  page.once("dialog", (dialog) => { asked = dialog.message(); });
  await page.getByRole("button", { name: "Cancel order" }).click();
  await page.locator('.timeline li[data-status="CANCELLED"]').first().waitFor();
  if (!/will be refunded/.test(asked)) problems.push(`${width}: cancelling a paid order did not state the refund: "${asked}"`);
  await page.getByRole("heading", { name: "Refunds" }).waitFor();
  await shot("11-cancelled-paid");
  await context.close();
}

// A return asked for on a delivered order, approved by an admin in the back office.
async function returnApproved(width, orderId) {
  const { context, page, shot } = await customer(width, `returns-${width}`);
  await page.goto(`${base}/#/orders/${orderId}`);
  await page.getByRole("heading", { name: "Return items" }).waitFor();
  await page.locator("input[name=line]").first().fill("1");
  await page.getByLabel("Why").fill("arrived chipped");
  await page.getByRole("button", { name: "Ask to return" }).click();
  await page.locator('.timeline li[data-status="RETURN_REQUESTED"]').waitFor();
  await shot("12-return-asked");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Shop" }).waitFor();
  await signIn(page, `staff-${width}`, "Shop admin");
  await page.goto(`${base}/#/orders/${orderId}`);
  await page.getByRole("button", { name: "Approve return" }).click();
  await page.getByText("The return is approved").waitFor();
  await page.locator('.timeline li[data-status="RETURNED"]').waitFor({ timeout: 20000 });
  await shot("13-return-approved");
  await context.close();
}

await run(browser, artifacts, async () => {
  for (const [width, delivered] of [[375, delivered375], [1280, delivered1280]]) {
    await catalogueToPaid(width);
    await priceChange(width);
    await soldOutAtCheckout(width);
    await cancelPaid(width);
    await returnApproved(width, delivered);
  }
}, `storefront (screenshots in ${artifacts})`);
