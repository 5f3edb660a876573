// The seed walkthrough in the web console, click by click: sign in, find Gmail in the catalog,
// Authenticate with the optional OAuth fields, consent at the provider (the emulator's screens)
// in the tab the console opens — which closes itself — and land on the authenticated instance
// with its "Test in the API docs" tile; then disable, enable, and delete it after confirming.
//
// Environment (set by crates/ferry/tests/end_to_end/console.rs):
//   FERRY_URL, FERRY_CONSOLE_EMAIL, FERRY_CONSOLE_PASSWORD
//   FERRY_CLIENT_ID, FERRY_CLIENT_SECRET  the OAuth client registered at the emulator
//   FERRY_ACCOUNT                         the Google account chosen on the consent screen
// Prints `RESULT {"instance": ID}` when every step worked.

import assert from "node:assert/strict";
import { scenario, required } from "./launch.mjs";

const ferry = required("FERRY_URL");
const email = required("FERRY_CONSOLE_EMAIL");
const password = required("FERRY_CONSOLE_PASSWORD");
const clientId = required("FERRY_CLIENT_ID");
const clientSecret = required("FERRY_CLIENT_SECRET");
const account = required("FERRY_ACCOUNT");

/** Clicks through the provider's screens: the account, then continue/allow on each. */
async function consent(tab) {
  for (let screen = 0; screen < 8; screen += 1) {
    await tab.waitForLoadState();
    if (tab.isClosed() || tab.url().startsWith(`${ferry}/oauth/callback`)) return;
    const pick = tab.locator(`button[name="account"][value="${account}"]`);
    const allow = tab.locator('button[name="decision"][value="allow"]:visible, button[name="decision"][value="continue"]:visible');
    // Google's unverified-app warning hides its way on under "Advanced".
    const advanced = tab.locator("summary", { hasText: "Advanced" });
    await pick.or(allow).or(advanced).first().waitFor();
    if (await pick.count()) {
      await pick.click();
    } else if (await allow.count()) {
      await allow.first().click();
    } else {
      await advanced.click();
      await tab.getByRole("button", { name: /\(unsafe\)$/ }).click();
    }
  }
  throw new Error("the consent took more than 8 screens");
}

await scenario("console-seed", async (browser) => {
  const { page } = browser;
  await page.goto(`${ferry}/console`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Instances" }).waitFor();
  browser.step("signed in");

  // The catalog, searched.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Connectors" }).click();
  await page.getByLabel("Search connectors").fill("gmail");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("link", { name: "Gmail" }).click();
  await page.getByRole("heading", { name: "Authenticate" }).waitFor();
  await browser.screenshot("connector");

  // Authenticate: a name, the optional OAuth fields, Create Instance → a consent tab.
  await page.getByLabel("Instance name").fill("My Gmail");
  await page.getByText("Show Optional Fields").click();
  await page.getByLabel("OAuth API Key").fill(clientId);
  await page.getByLabel("OAuth API Secret").fill(clientSecret);
  await page.getByLabel("Tags").fill("seed, demo");
  const opened = page.context().waitForEvent("page");
  await page.getByRole("button", { name: "Create Instance" }).click();
  const tab = await opened;
  await consent(tab);
  browser.step("consented");
  // The consent tab closes itself; this tab goes on to the instance.
  await tab.waitForEvent("close", { timeout: 15000 });
  await page.waitForURL(/\/console\/instances\/\d+$/);
  const instance = Number(new URL(page.url()).pathname.split("/").pop());
  await page.locator("#instance-state").filter({ hasText: "Active" }).waitFor();
  await page.getByRole("heading", { name: "My Gmail" }).waitFor();
  assert.ok((await page.getByRole("cell", { name: "********" }).count()) >= 1, "the client secret is masked");
  assert.ok(!(await page.content()).includes(clientSecret), "the client secret is never shown");
  await browser.screenshot("instance");
  browser.step("instance active");

  // "Test in the API docs": Try it out is ready, with no secret to enter.
  await page.getByRole("link", { name: "Open the API docs of My Gmail" }).click();
  const operation = page.locator("#operations-messages-listMessages");
  await operation.locator(".opblock-summary-control").click();
  await operation.getByRole("button", { name: "Try it out" }).click();
  await operation.getByRole("button", { name: "Execute" }).click();
  const status = operation.locator(".live-responses-table .response .response-col_status");
  await status.waitFor();
  const listed = operation.locator(".live-responses-table .response-col_description pre").first();
  await listed.waitFor();
  const answered = (await status.innerText()).trim();
  assert.equal(answered, "200", `GET /messages from the console's docs: ${answered} ${await listed.innerText()}`);
  const messages = JSON.parse(await listed.innerText());
  assert.ok(Array.isArray(messages) && messages.length > 0);
  await browser.screenshot("api-docs", operation, ".responses-table:not(.live-responses-table) { display: none; }");
  browser.step("tried the API from the docs");
  await page.getByRole("link", { name: "← My Gmail" }).click();
  await page.locator("#instance-state").filter({ hasText: "Active" }).waitFor();

  // Disable, enable.
  await page.getByRole("button", { name: "Disable" }).click();
  await page.locator("#instance-state").filter({ hasText: "Disabled" }).waitFor();
  await page.getByRole("button", { name: "Enable" }).click();
  await page.locator("#instance-state").filter({ hasText: "Active" }).waitFor();

  // Delete, after confirming.
  await page.getByRole("link", { name: "Delete…" }).click();
  await page.getByRole("heading", { name: "Delete My Gmail?" }).waitFor();
  await browser.screenshot("confirm-delete");
  await page.getByRole("button", { name: "Delete My Gmail" }).click();
  await page.getByRole("heading", { name: "Instances" }).waitFor();
  assert.equal(await page.getByRole("link", { name: "My Gmail" }).count(), 0);
  return { instance };
});
