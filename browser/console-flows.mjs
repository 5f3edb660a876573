// The seed walkthrough's flow in the web console: start from the "Send an email with Gmail"
// template, see it as a graph beside its JSON, meet a save-time error shown at its step, bind
// the Gmail instance in a flow instance, Run it and watch the execution succeed.
//
// Environment (set by crates/ferry/tests/end_to_end/console.rs):
//   FERRY_URL, FERRY_CONSOLE_EMAIL, FERRY_CONSOLE_PASSWORD
//   FERRY_INSTANCE_NAME  the connected Gmail instance to bind
//   FERRY_MAIL_TO        the recipient passed as the trigger's argument
// Prints `RESULT {"flow": ID, "execution": ID}` when every step worked.

import assert from "node:assert/strict";
import { scenario, required } from "./launch.mjs";

const ferry = required("FERRY_URL");
const email = required("FERRY_CONSOLE_EMAIL");
const password = required("FERRY_CONSOLE_PASSWORD");
const instanceName = required("FERRY_INSTANCE_NAME");
const to = required("FERRY_MAIL_TO");

await scenario("console-flows", async (browser) => {
  const { page } = browser;
  await page.goto(`${ferry}/console/flows`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Flows" }).waitFor();

  // The seed's template, created as it is.
  await page.getByLabel("Start from").selectOption("send-email-with-gmail");
  await page.getByRole("button", { name: "Use this start" }).click();
  const template = await page.getByLabel("Flow JSON (Cloud Elements formula format)").inputValue();
  assert.match(template, /prepareSendEmailToCustomer/);
  await page.getByRole("button", { name: "Create the flow" }).click();
  await page.getByRole("heading", { name: "Send an email with Gmail" }).waitFor();
  const flow = Number(new URL(page.url()).pathname.split("/").pop());
  const graph = page.locator("svg.flow-graph");
  await graph.locator('[data-step="sendEmailToCustomer"]').waitFor();
  assert.equal(await graph.locator('line[data-edge="prepareSendEmailToCustomer onSuccess sendEmailToCustomer"]').count(), 1);
  await browser.screenshot("flow-editor");
  browser.step("flow created");

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
  browser.step("save-time error shown");

  // A flow instance bound to the Gmail instance, then Run.
  await page.getByLabel("New instance name").fill("mail the customer");
  const gmail = await page.locator("#var-gmail option", { hasText: `${instanceName} (` }).first().getAttribute("value");
  await page.getByLabel("Gmail (gmail)").selectOption(gmail);
  await page.getByRole("button", { name: "Create the instance" }).click();
  const tile = page.getByRole("region", { name: "Flow instance mail the customer" });
  await tile.waitFor();
  await tile.getByLabel("Trigger arguments (JSON)").fill(JSON.stringify({ to }));
  await tile.getByRole("button", { name: "Run mail the customer" }).click();
  await page.waitForURL(/\/console\/executions\/\d+$/);
  const execution = Number(new URL(page.url()).pathname.split("/").pop());
  await page.locator("#execution-status").filter({ hasText: "Succeeded" }).waitFor({ timeout: 20000 });
  await page.getByRole("heading", { name: /sendEmailToCustomer/ }).waitFor();
  await browser.screenshot("run");
  return { flow, execution };
});
