// Connectors without consent in the web console, click by click: sign in; authenticate GitHub
// with a personal access token (an API key) and land on the instance, its account learned from
// GitHub and the token masked; authenticate Jira Cloud (HTTP Basic), meeting a blank required
// field on the way — the form comes back naming it, with the site kept and the token gone; and
// authenticate a connector whose vendor pushes events by webhook, whose instance page shows the
// URL to give the vendor.
//
// Environment (set by crates/ferry/tests/end_to_end/console_connectors.rs):
//   FERRY_URL, FERRY_CONSOLE_EMAIL, FERRY_CONSOLE_PASSWORD
//   FERRY_GITHUB_TOKEN                              the token GitHub's fixtures accept
//   FERRY_JIRA_SITE, FERRY_JIRA_EMAIL, FERRY_JIRA_TOKEN   what Jira's fixtures accept
//   FERRY_NOTES_KEY, FERRY_WEBHOOK_SECRET           the webhook connector's API key and secret
// Prints `RESULT {"github": ID, "jira": ID, "notes": ID, "webhookUrl": URL}` when every step
// worked.

import assert from "node:assert/strict";
import { assertLabelled, scenario, required } from "./launch.mjs";

const ferry = required("FERRY_URL");
const email = required("FERRY_CONSOLE_EMAIL");
const password = required("FERRY_CONSOLE_PASSWORD");
const githubToken = required("FERRY_GITHUB_TOKEN");
const jiraSite = required("FERRY_JIRA_SITE");
const jiraEmail = required("FERRY_JIRA_EMAIL");
const jiraToken = required("FERRY_JIRA_TOKEN");
const notesKey = required("FERRY_NOTES_KEY");
const webhookSecret = required("FERRY_WEBHOOK_SECRET");

/** Opens a connector's page from the catalog, searched by name. */
async function openConnector(page, search, name) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Connectors" }).click();
  await page.getByLabel("Search connectors").fill(search);
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("link", { name, exact: true }).click();
  await page.getByRole("heading", { name: "Authenticate" }).waitFor();
}

/** The instance page the form went on to: its id, once its heading is there. */
async function instancePage(page, name) {
  await page.waitForURL(/\/console\/instances\/\d+$/);
  await page.getByRole("heading", { name, exact: true }).waitFor();
  return Number(new URL(page.url()).pathname.split("/").pop());
}

/** The value beside a fact of the instance page (Connector, Account, …). */
async function fact(page, term) {
  return (await page.locator(`dt:text-is("${term}") + dd`).innerText()).trim();
}

await scenario("console-connectors", async (browser) => {
  const { page } = browser;
  await page.goto(`${ferry}/console`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  browser.step("signed in");

  // GitHub: an API key, typed into a password input.
  await openConnector(page, "github", "GitHub");
  await assertLabelled(page, "GitHub's connector page");
  const token = page.getByLabel("Personal access token");
  assert.equal(await token.getAttribute("type"), "password", "the token is typed unseen");
  await browser.screenshot("github-form");
  await page.getByLabel("Instance name").fill("My GitHub");
  await token.fill(githubToken);
  await page.getByRole("button", { name: "Create Instance" }).click();
  const github = await instancePage(page, "My GitHub");
  await page.locator("#instance-state").filter({ hasText: "Active" }).waitFor();
  assert.equal(await fact(page, "Connector"), "GitHub");
  assert.equal(await fact(page, "Account"), "octocat", "the token reached GitHub");
  await page.getByRole("row", { name: "github.token ********" }).waitFor();
  assert.ok(!(await page.content()).includes(githubToken), "the token is never shown");
  assert.equal(await page.getByRole("button", { name: "Re-authenticate" }).count(), 0);
  assert.equal(await page.getByRole("heading", { name: "Events by webhook" }).count(), 0);
  await assertLabelled(page, "GitHub instance page");
  await browser.screenshot("github-instance");
  browser.step("GitHub instance made");

  // Jira: HTTP Basic. Blanks in a required field pass the browser's check but not ferry's.
  await openConnector(page, "jira", "Jira Cloud");
  await page.getByLabel("Instance name").fill("Work Jira");
  await page.getByLabel("Site").fill(jiraSite);
  await page.getByLabel("Account email").fill("   ");
  await page.getByLabel("API token").fill(jiraToken);
  await page.getByRole("button", { name: "Create Instance" }).click();
  await page.getByRole("alert").filter({ hasText: "Account email is required." }).waitFor();
  assert.equal(await page.getByLabel("Site").inputValue(), jiraSite, "what was typed is kept");
  assert.equal(await page.getByLabel("Instance name").inputValue(), "Work Jira");
  assert.equal(await page.getByLabel("Account email").getAttribute("aria-invalid"), "true");
  assert.equal(await page.getByLabel("API token").inputValue(), "", "the secret is not kept");
  assert.ok(!(await page.content()).includes(jiraToken), "the secret is never sent back");
  await assertLabelled(page, "Jira's form with a problem");
  await browser.screenshot("jira-missing-email");
  await page.getByLabel("Account email").fill(jiraEmail);
  await page.getByLabel("API token").fill(jiraToken);
  await page.getByRole("button", { name: "Create Instance" }).click();
  const jira = await instancePage(page, "Work Jira");
  assert.equal(await fact(page, "Account"), jiraEmail, "the email and token reached Jira");
  await page.getByRole("row", { name: "jira.api.token ********" }).waitFor();
  await page.getByRole("row", { name: `jira.site ${jiraSite}` }).waitFor();
  assert.ok(!(await page.content()).includes(jiraToken));
  await browser.screenshot("jira-instance");
  browser.step("Jira instance made");

  // A connector the vendor pushes events to: its instance page shows where.
  await openConnector(page, "notes", "Notes (push)");
  await page.getByLabel("Instance name").fill("Pushed notes");
  await page.getByLabel("API key").fill(notesKey);
  await page.getByLabel("Webhook signing secret").fill(webhookSecret);
  await page.getByRole("button", { name: "Create Instance" }).click();
  const notes = await instancePage(page, "Pushed notes");
  await page.getByRole("heading", { name: "Events by webhook" }).waitFor();
  const webhookUrl = await page.getByLabel("Events webhook URL").inputValue();
  assert.equal(webhookUrl, `${ferry}/elements/api-v2/instances/${notes}/events`);
  await page.getByText("X-Notes-Signature").waitFor();
  assert.ok(!(await page.content()).includes(webhookSecret), "the signing secret is never shown");
  await assertLabelled(page, "webhook instance page");
  await browser.screenshot("webhook-instance");
  browser.step("webhook instance made");

  return { github, jira, notes, webhookUrl };
});
