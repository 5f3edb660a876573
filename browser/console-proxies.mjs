// The web console's API proxies, click by click: sign in, publish an instance, create a key
// (shown once), see the calls made with it in the usage chart, revoke it, sign out.
//
// Environment (set by crates/ferry/tests/end_to_end/console.rs):
//   FERRY_URL               ferry's address
//   FERRY_CONSOLE_EMAIL     who signs in
//   FERRY_CONSOLE_PASSWORD  their console password
//   FERRY_INSTANCE_NAME     the connected instance to publish
// Prints `RESULT {"proxy": ID, "key": KEY}` when every step worked.

import assert from "node:assert/strict";
import { assertLabelled, scenario, required } from "./launch.mjs";

const ferry = required("FERRY_URL");
const email = required("FERRY_CONSOLE_EMAIL");
const password = required("FERRY_CONSOLE_PASSWORD");
const instanceName = required("FERRY_INSTANCE_NAME");

await scenario("console-proxies", async (browser) => {
  const { page } = browser;

  // Signed out, the console sends the browser to its sign-in page; a wrong password is said so.
  await page.goto(`${ferry}/console/proxies`);
  await page.getByRole("heading", { name: "Sign in to ferry" }).waitFor();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("not the password at all");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: "The email or the password is wrong" }).waitFor();
  await browser.screenshot("wrong-password");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "API proxies" }).waitFor();
  await assertLabelled(page, "proxies");
  browser.step("signed in");

  // Publish the instance's messages.
  await page.getByLabel("Name", { exact: true }).fill("Mail for the mobile app");
  await page.getByLabel("Base path").fill("console-mail");
  const choice = await page.locator("#instance_id option", { hasText: `${instanceName} (` }).first().getAttribute("value");
  await page.getByLabel("Instance").selectOption(choice);
  await page.getByLabel("Operations to expose").fill("listMessages, getMessage");
  await page.getByLabel("Calls", { exact: true }).fill("100");
  await page.getByRole("button", { name: "Publish" }).click();
  await page.getByRole("heading", { name: "Mail for the mobile app" }).waitFor();
  const proxyId = Number(new URL(page.url()).pathname.split("/").pop());
  assert.ok(proxyId > 0, page.url());
  browser.step("published");

  // A second proxy at the same base path is refused in words, with the form kept.
  await page.goto(`${ferry}/console/proxies`);
  await page.getByLabel("Name", { exact: true }).fill("Again");
  await page.getByLabel("Base path").fill("console-mail");
  await page.getByRole("button", { name: "Publish" }).click();
  await page.getByRole("alert").filter({ hasText: "already exists" }).waitFor();
  assert.equal(await page.getByLabel("Name", { exact: true }).inputValue(), "Again");
  await browser.screenshot("base-path-taken");
  await page.getByRole("link", { name: "Mail for the mobile app" }).click();

  // A key, shown once.
  await page.getByLabel("Application using the new key").fill("mobile app");
  await page.getByRole("button", { name: "Create a key" }).click();
  const key = (await page.locator("#new-key").innerText()).trim();
  assert.match(key, /^fpk_/);
  await browser.screenshot("new-key");
  // Reloading shows it no more and creates no other key.
  await page.reload();
  await page.getByRole("heading", { name: "API keys" }).waitFor();
  assert.equal(await page.locator("#new-key").count(), 0);
  assert.equal(await page.getByRole("table", { name: "Keys of this proxy" }).locator("tbody tr").count(), 1);
  browser.step("key created");

  // Three calls with it, from the application's side (not this browser).
  for (let call = 0; call < 3; call += 1) {
    const answer = await page.request.get(`${ferry}/proxies/console-mail/messages`, { headers: { "X-API-Key": key } });
    assert.equal(answer.status(), 200, await answer.text());
  }
  // The usage chart shows them (call records are written in the background).
  const caption = page.locator("figcaption");
  for (let attempt = 0; ; attempt += 1) {
    await page.goto(`${ferry}/console/proxies/${proxyId}`);
    const text = await caption.innerText();
    if (text.startsWith("3 calls in the last hour: 3 succeeded")) break;
    assert.ok(attempt < 50, `the chart never showed the calls: ${text}`);
    await page.waitForTimeout(100);
  }
  assert.equal(await page.locator("svg.chart rect").count() > 0, true);
  const byKey = page.getByRole("table", { name: "Calls by key in the last hour" });
  await byKey.getByRole("row", { name: /mobile app 3/ }).waitFor();
  assert.ok(!(await page.content()).includes(key), "the key is shown only once");
  await browser.screenshot("usage");
  browser.step("usage shown");

  // The dashboard plots the calls per key too.
  await page.goto(`${ferry}/console/dashboard`);
  await page.locator("#calls-caption").filter({ hasText: "mobile app (Mail for the mobile app): 3 calls" }).waitFor();
  await page.goto(`${ferry}/console/proxies/${proxyId}`);

  // Revoked, the key stops working.
  await page.getByRole("button", { name: "Revoke the key of mobile app" }).click();
  await page.getByRole("cell", { name: "revoked" }).waitFor();
  const refused = await page.request.get(`${ferry}/proxies/console-mail/messages`, { headers: { "X-API-Key": key } });
  assert.equal(refused.status(), 401);
  browser.step("key revoked");

  // Signed out, the pages are closed again.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in to ferry" }).waitFor();
  await page.goto(`${ferry}/console/proxies/${proxyId}`);
  await page.getByRole("heading", { name: "Sign in to ferry" }).waitFor();
  return { proxy: proxyId, key };
});
