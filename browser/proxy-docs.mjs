// A developer of another application opens a published proxy's docs page, enters the API key the
// proxy's owner gave them, and lists the mailbox with Swagger UI's "Try it out".
//
// Environment (set by crates/ferry/tests/end_to_end/browser_docs.rs; the key never goes in a URL):
//   FERRY_URL         ferry's address
//   FERRY_PROXY_PATH  the proxy's base path
//   FERRY_API_KEY     the key the page asks for
// Prints `RESULT {"listed": N}` when every step worked.

import assert from "node:assert/strict";
import { scenario, required } from "./launch.mjs";

const ferry = required("FERRY_URL");
const basePath = required("FERRY_PROXY_PATH");
const apiKey = required("FERRY_API_KEY");

await scenario("proxy-docs", async (browser) => {
  const { page } = browser;
  await page.goto(`${ferry}/docs/proxies/${basePath}`);
  await page.locator("#ferry-status").filter({ hasText: "Enter your API key" }).waitFor();
  await page.getByLabel("API key").fill(apiKey);
  await page.getByRole("button", { name: "Use this key" }).click();
  await page.locator("#ferry-status").filter({ hasText: "Calls are sent with your API key" }).waitFor();
  browser.step("the key is entered");

  const operation = page.locator("#operations-messages-listMessages");
  await operation.locator(".opblock-summary-control").click();
  await operation.getByRole("button", { name: "Try it out" }).click();
  await operation.getByRole("button", { name: "Execute" }).click();
  const live = operation.locator(".live-responses-table");
  const status = live.locator(".response .response-col_status");
  await status.waitFor();
  const body = live.locator(".response-col_description .highlight-code pre, .response-col_description pre.microlight").first();
  await body.waitFor();
  const text = await body.innerText();
  await browser.screenshot("listMessages", operation, ".responses-table:not(.live-responses-table) { display: none; }");
  const answered = (await status.innerText()).trim();
  assert.equal(answered, "200", `GET /messages answered ${answered}: ${text}`);
  const messages = JSON.parse(text);
  assert.ok(Array.isArray(messages) && messages.length > 0, text);
  // The exposed operations only: this proxy publishes no labels.
  assert.equal(await page.locator("#operations-labels-listLabels").count(), 0);
  for (const url of browser.requested) {
    assert.ok(!url.includes(apiKey), `the key in the URL ${url}`);
  }
  return { listed: messages.length };
});
