// The whole seed walkthrough in the web console, click by click: sign in, find Gmail in the
// catalog, Authenticate with the optional OAuth fields, consent at the provider (the emulator's
// screens) in the tab the console opens — which closes itself — and land on the authenticated
// instance; list the mail from "Test in the API docs"; make the seed's flow from its template
// (meeting a save-time error at its step on the way), bind the instance, Run it and see it
// succeed; re-authenticate after the provider revokes the grant; disable, enable, and delete the
// instance after confirming.
//
// Environment (set by crates/ferry/tests/end_to_end/console.rs):
//   FERRY_URL, FERRY_CONSOLE_EMAIL, FERRY_CONSOLE_PASSWORD
//   FERRY_EMULATOR_URL                    the Google emulator (its control API revokes grants)
//   FERRY_CLIENT_ID, FERRY_CLIENT_SECRET  the OAuth client registered at the emulator
//   FERRY_ACCOUNT                         the Google account chosen on the consent screen
//   FERRY_MAIL_TO                         who the seed's flow mails
// Prints `RESULT {"instance": ID, "flow": ID, "execution": ID}` when every step worked.

import assert from "node:assert/strict";
import { assertLabelled, scenario, required } from "./launch.mjs";

const ferry = required("FERRY_URL");
const email = required("FERRY_CONSOLE_EMAIL");
const password = required("FERRY_CONSOLE_PASSWORD");
const clientId = required("FERRY_CLIENT_ID");
const clientSecret = required("FERRY_CLIENT_SECRET");
const account = required("FERRY_ACCOUNT");
const emulator = required("FERRY_EMULATOR_URL");
const to = required("FERRY_MAIL_TO");

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
  // Signed in with the keyboard alone.
  await page.goto(`${ferry}/console`);
  await assertLabelled(page, "sign-in");
  await page.getByLabel("Email").focus();
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  await page.keyboard.type(password);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  browser.step("signed in");

  // The catalog, searched.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Connectors" }).click();
  await page.getByLabel("Search connectors").fill("gmail");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("link", { name: "Gmail" }).click();
  await page.getByRole("heading", { name: "Authenticate" }).waitFor();
  await page.getByText("Show Optional Fields").click();
  await assertLabelled(page, "connector page");
  await page.getByText("Show Optional Fields").click();
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
  await assertLabelled(page, "instance page");
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

  // The seed's flow, from its template.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Flows" }).click();
  await page.getByLabel("Start from").selectOption("send-email-with-gmail");
  await page.getByRole("button", { name: "Use this start" }).click();
  await page.getByRole("button", { name: "Create the flow" }).click();
  await page.getByRole("heading", { name: "Send an email with Gmail" }).waitFor();
  const flow = Number(new URL(page.url()).pathname.split("/").pop());
  const graph = page.locator("svg.flow-graph");
  await graph.locator('[data-step="sendEmailToCustomer"]').waitFor();
  await assertLabelled(page, "flow editor");
  assert.equal(await graph.locator('line[data-edge="prepareSendEmailToCustomer onSuccess sendEmailToCustomer"]').count(), 1);
  await browser.screenshot("flow-editor");

  // A save-time error: shown at the step it concerns, in the graph and in words; nothing saved.
  const editor = page.getByLabel("Flow JSON", { exact: true });
  const saved = await editor.inputValue();
  await editor.fill(saved.replace("done({url: url, form: form});", "done({url: url, form: form);"));
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("heading", { name: "Problems to fix" }).waitFor();
  await page.getByText(/step "prepareSendEmailToCustomer"/).first().waitFor();
  await graph.locator('[data-step="prepareSendEmailToCustomer"][data-problem="true"]').waitFor();
  await browser.screenshot("save-time-error");
  await page.goto(`${ferry}/console/flows/${flow}`);
  assert.equal(await editor.inputValue(), saved, "the flow as saved is unchanged");
  browser.step("flow made");

  // Bound to the instance, and Run.
  await page.getByLabel("New instance name").fill("mail the customer");
  const gmail = await page.locator("#var-gmail option", { hasText: "My Gmail (" }).first().getAttribute("value");
  assert.equal(Number(gmail), instance);
  await page.getByLabel("Gmail (gmail)").selectOption(gmail);
  await page.getByRole("button", { name: "Create the instance" }).click();
  const tile = page.getByRole("region", { name: "Flow instance mail the customer" });
  await tile.getByLabel("Trigger arguments (JSON)").fill(JSON.stringify({ to }));
  await tile.getByRole("button", { name: "Run mail the customer" }).click();
  await page.waitForURL(/\/console\/executions\/\d+$/);
  const execution = Number(new URL(page.url()).pathname.split("/").pop());
  await page.locator("#execution-status").filter({ hasText: "Succeeded" }).waitFor({ timeout: 20000 });
  await page.getByRole("heading", { name: /sendEmailToCustomer/ }).waitFor();
  await browser.screenshot("flow-run");
  browser.step("flow run");

  // The provider revokes the grant: the next run fails and says why, the instance page asks for
  // a new consent, and Re-authenticate brings the instance back.
  const revoked = await page.request.post(`${emulator}/_emulator/accounts/${encodeURIComponent(account)}/revoke`);
  assert.ok(revoked.ok(), await revoked.text());
  await page.goto(`${ferry}/console/flows/${flow}`);
  await tile.getByLabel("Trigger arguments (JSON)").fill(JSON.stringify({ to }));
  await tile.getByRole("button", { name: "Run mail the customer" }).click();
  await page.locator("#execution-status").filter({ hasText: "Failed" }).waitFor({ timeout: 20000 });
  await page.getByRole("alert").filter({ hasText: /re-authenticated/ }).waitFor();
  await browser.screenshot("run-after-revocation");
  await page.goto(`${ferry}/console/instances/${instance}`);
  await page.locator("#instance-state").filter({ hasText: "Needs re-authentication" }).waitFor();
  await browser.screenshot("needs-reauthentication");
  const reopened = page.context().waitForEvent("page");
  await page.getByRole("button", { name: "Re-authenticate" }).click();
  const consentTab = await reopened;
  await consent(consentTab);
  await consentTab.waitForEvent("close", { timeout: 15000 });
  await page.waitForURL(`${ferry}/console/instances/${instance}`);
  await page.locator("#instance-state").filter({ hasText: "Active" }).waitFor();
  browser.step("re-authenticated");

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
  return { instance, flow, execution };
});
