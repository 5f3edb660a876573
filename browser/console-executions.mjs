// Executions in the web console: the list (filtered, and updating itself while executions run),
// a failed execution's step timeline with its error in words, Retry, and Cancel of a running one.
//
// Environment (set by crates/ferry/tests/end_to_end/console.rs):
//   FERRY_URL, FERRY_CONSOLE_EMAIL, FERRY_CONSOLE_PASSWORD
//   FERRY_AUTHORIZATION       ferry's API header, to start executions as another program would
//   FERRY_CHECK_INSTANCE      the flow instance whose script fails when args.fail is true
//   FERRY_SLOW_INSTANCE       the flow instance whose script runs for seconds
//   FERRY_FAILED_EXECUTION    an execution of the first that failed
// Then the dashboard's plots, and Settings: the organization's users and new API secrets.
// Prints `RESULT {"retried": ID, "cancelled": ID, "userSecret": S, "organizationSecret": S}`.

import assert from "node:assert/strict";
import { assertLabelled, scenario, required } from "./launch.mjs";

const ferry = required("FERRY_URL");
const email = required("FERRY_CONSOLE_EMAIL");
const password = required("FERRY_CONSOLE_PASSWORD");
const authorization = required("FERRY_AUTHORIZATION");
const checkInstance = required("FERRY_CHECK_INSTANCE");
const slowInstance = required("FERRY_SLOW_INSTANCE");
const failed = required("FERRY_FAILED_EXECUTION");

async function start(page, instance, args) {
  const answer = await page.request.post(`${ferry}/elements/api-v2/formulas/instances/${instance}/executions`, {
    headers: { Authorization: authorization, "Content-Type": "application/json" },
    data: args,
  });
  assert.equal(answer.status(), 200, await answer.text());
  return (await answer.json())[0].id;
}

await scenario("console-executions", async (browser) => {
  const { page } = browser;
  await page.goto(`${ferry}/console/executions`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Executions" }).waitFor();
  await assertLabelled(page, "executions");
  const rows = page.locator("#execution-rows tr");
  assert.equal(await rows.count(), 2, await page.locator("#execution-rows").innerText());

  // Filtered to the failed ones.
  await page.getByLabel("Status").selectOption("failed");
  await page.getByRole("button", { name: "Show" }).click();
  await page.waitForURL(/status=failed/);
  assert.equal(await rows.count(), 1);
  await browser.screenshot("failed-only");

  // The failed execution: its step, its error in words.
  await page.getByRole("link", { name: `#${failed}` }).click();
  await page.locator("#execution-status").filter({ hasText: "Failed" }).waitFor();
  await page.getByText("the customer has no email address").first().waitFor();
  await browser.screenshot("failed-execution");

  // Retry: a new execution with the same input (so it fails again), attempt 2.
  await page.getByRole("button", { name: "Retry with the same input" }).click();
  await page.waitForURL((url) => !url.pathname.endsWith(`/${failed}`));
  const retried = Number(new URL(page.url()).pathname.split("/").pop());
  await page.locator("#execution-status").filter({ hasText: "Failed" }).waitFor();
  await page.getByRole("definition").filter({ hasText: /^2$/ }).waitFor();
  browser.step("retried");

  // The list updates itself: an execution started elsewhere appears without a reload.
  await page.goto(`${ferry}/console/executions?status=&since=day`);
  const before = await rows.count();
  await start(page, checkInstance, { fail: false });
  await page.waitForFunction((count) => document.querySelectorAll("#execution-rows tr").length > count, before);
  browser.step("the list updated itself");

  // Cancel a running one.
  const slow = await start(page, slowInstance, {});
  await page.goto(`${ferry}/console/executions/${slow}`);
  await page.getByRole("button", { name: "Cancel" }).click();
  await page.locator("#execution-status").filter({ hasText: "Cancelled" }).waitFor();
  await browser.screenshot("cancelled");

  // The dashboard: executions per minute, failures by flow, proxy calls per key.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Dashboard" }).click();
  await page.locator("#failures-caption").filter({ hasText: "Check the customer: 2 failures" }).waitFor();
  assert.match(await page.locator("#executions-caption").innerText(), /^\d+ executions in the last hour: .*2 failed/);
  assert.equal(await page.locator("#calls-caption").innerText(), "None in this period.");
  await browser.screenshot("dashboard");

  // Settings: who is here, and new API secrets shown once.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
  await page.getByRole("cell", { name: email }).waitFor();
  await page.getByRole("button", { name: "Replace my secrets" }).click();
  const userSecret = (await page.locator("#user-secret").innerText()).trim();
  const organizationSecret = (await page.locator("#organization-secret").innerText()).trim();
  assert.ok(userSecret.length > 30 && organizationSecret.length > 30);
  // Reloading shows them no more, and replaces nothing (the Rust side uses these secrets).
  await page.reload();
  await page.getByRole("heading", { name: "Settings" }).waitFor();
  assert.equal(await page.locator("#user-secret").count(), 0, "the secrets are shown once");
  return { retried, cancelled: slow, userSecret, organizationSecret };
});
