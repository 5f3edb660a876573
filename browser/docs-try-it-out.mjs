// The seed walkthrough's "Test your new Gmail connector" in a real browser: a user opens an
// instance's API docs page, enters the user and organization secrets once, and with Swagger UI's
// "Try it out" lists the messages, reads the first one and sends a mail with an attached file.
//
// Environment (set by crates/ferry/tests/end_to_end/browser_docs.rs; secrets never go in a URL):
//   FERRY_URL                  ferry's address, e.g. http://127.0.0.1:41234
//   FERRY_INSTANCE_ID          the Gmail instance whose docs page is opened
//   FERRY_USER_SECRET          the user secret the page asks for
//   FERRY_ORGANIZATION_SECRET  the organization secret the page asks for
//   FERRY_MAIL_TO              the recipient of the mail sent from the page
//   FERRY_MAIL_SUBJECT         its subject
//   FERRY_ATTACHMENT           the file chosen in the file input
// Prints `RESULT {"listed": N, "read": ID, "sent": ID}` when every step worked.

import assert from "node:assert/strict";
import { scenario, required } from "./launch.mjs";

const ferry = required("FERRY_URL");
const instance = required("FERRY_INSTANCE_ID");
const userSecret = required("FERRY_USER_SECRET");
const organizationSecret = required("FERRY_ORGANIZATION_SECRET");
const to = required("FERRY_MAIL_TO");
const subject = required("FERRY_MAIL_SUBJECT");
const attachment = required("FERRY_ATTACHMENT");

/** Opens an operation, presses "Try it out", lets `fill` fill it in, executes it and answers
 *  the status and body Swagger UI shows. */
async function tryItOut(browser, operationId, fill) {
  const { page } = browser;
  const operation = page.locator(`#operations-messages-${operationId}`);
  await operation.locator(".opblock-summary-control").click();
  await operation.getByRole("button", { name: "Try it out" }).click();
  if (fill) {
    await fill(operation);
  }
  browser.step(`${operationId}: filled in`);
  await operation.getByRole("button", { name: "Execute" }).click();
  const live = operation.locator(".live-responses-table");
  const status = live.locator(".response .response-col_status");
  await status.waitFor();
  const body = live.locator(".response-col_description .highlight-code pre, .response-col_description pre.microlight").first();
  await body.waitFor();
  const text = await body.innerText();
  browser.step(`${operationId}: answered`);
  // The executed call: its input, the request and the server's answer (not the documented
  // answers below them).
  await browser.screenshot(operationId, operation, ".responses-table:not(.live-responses-table) { display: none; }");
  browser.step(`${operationId}: screenshot`);
  return { status: (await status.innerText()).trim(), text };
}

/** Waits until the page has loaded the instance with the secrets, or says why it could not. */
async function instanceLoaded(page) {
  const status = page.locator("#ferry-status");
  await status.and(page.locator(".error, :text('calls are signed with its token')")).waitFor();
  const text = await status.innerText();
  assert.ok(!(await status.evaluate((element) => element.classList.contains("error"))), text);
}

function json(text, what) {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${what} is not JSON: ${text.slice(0, 500)}`);
  }
}

await scenario("docs-try-it-out", async (browser) => {
  const { page } = browser;
  await page.goto(`${ferry}/docs/instances/${instance}`);
  await page.locator("#ferry-status").filter({ hasText: "Enter your user and organization secrets" }).waitFor();
  browser.step("the page asks for the secrets");
  await browser.screenshot("asks-for-secrets");

  // The secrets, entered once; the page keeps them for the tab, so a reload needs none.
  await page.getByLabel("User secret").fill(userSecret);
  await page.getByLabel("Organization secret").fill(organizationSecret);
  await page.getByRole("button", { name: "Use these secrets" }).click();
  await instanceLoaded(page);
  await page.reload();
  await instanceLoaded(page);
  await page.locator("#operations-messages-listMessages").waitFor();
  assert.equal(await page.getByLabel("User secret").inputValue(), "", "the secret stays out of the form");
  browser.step("the instance's docs are there, after a reload");
  await browser.screenshot("instance-docs");

  // GET /messages: a list of message and thread ids.
  const listed = await tryItOut(browser, "listMessages");
  assert.equal(listed.status, "200", `GET /messages answered ${listed.status}: ${listed.text}`);
  const messages = json(listed.text, "GET /messages' answer");
  assert.ok(Array.isArray(messages) && messages.length > 0, `a list of messages: ${listed.text}`);
  for (const message of messages) {
    assert.ok(typeof message.id === "string" && typeof message.threadId === "string", JSON.stringify(message));
  }

  // GET /messages/{id} with the first id of that list.
  const first = messages[0].id;
  const read = await tryItOut(browser, "getMessage", async (operation) => {
    await operation.locator('tr[data-param-name="id"] input').fill(first);
  });
  assert.equal(read.status, "200", `GET /messages/${first} answered ${read.status}: ${read.text}`);
  const message = json(read.text, `GET /messages/${first}'s answer`);
  assert.equal(message.id, first);
  assert.ok(message.payload && Array.isArray(message.labelIds), read.text);

  // POST /messages as multipart: the "body" JSON part and a file chosen in the file input.
  const sent = await tryItOut(browser, "sendMessage", async (operation) => {
    await operation.locator(".opblock-section-request-body select").selectOption("multipart/form-data");
    const body = operation.locator('tr[data-property-name="body"] textarea');
    await body.fill(JSON.stringify({ to, subject, data: "Sent from ferry's API docs page." }));
    // "file" is an array of files: Swagger UI shows one file input and "Add string item".
    const file = operation.locator('tr[data-property-name="file"]');
    const input = file.locator('input[type="file"]').first();
    if ((await input.count()) === 0) {
      await file.getByRole("button", { name: /^Add .*item$/ }).click();
    }
    await input.setInputFiles(attachment);
  });
  assert.equal(sent.status, "200", `POST /messages answered ${sent.status}: ${sent.text}`);
  const mail = json(sent.text, "POST /messages' answer");
  assert.ok(typeof mail.id === "string", sent.text);
  assert.ok(mail.labelIds.includes("SENT"), sent.text);

  // Nothing secret went into a URL.
  for (const url of browser.requested) {
    for (const secret of [userSecret, organizationSecret]) {
      assert.ok(!url.includes(secret), `a secret in the URL ${url}`);
    }
  }
  return { listed: messages.length, read: first, sent: mail.id };
});
