// What every browser scenario shares: Debian's Chromium driven by playwright-core, a fresh
// profile, no network (anything but loopback is aborted and fails the scenario), no console
// error and no page error allowed, and screenshots of the key pages for a human to look at.
//
// Environment:
//   FERRY_CHROMIUM           the browser (default /usr/bin/chromium)
//   FERRY_BROWSER_ARTIFACTS  where screenshots go (default target/browser-artifacts/ of the
//                            repository); each scenario writes into a folder of its own name
//   FERRY_BROWSER_HEADED=1   show the window (for a person debugging at a desktop)

import { chromium } from "playwright-core";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPOSITORY = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** A required environment variable, or a failure that names it. */
export function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
}

/** True for the addresses a test browser may reach: this machine's loopback. */
export function isLoopback(url) {
  const parsed = new URL(url);
  if (!["http:", "https:", "ws:", "wss:"].includes(parsed.protocol)) {
    return true; // data:, blob:, about: never leave the browser
  }
  return LOOPBACK.has(parsed.hostname) || parsed.hostname.startsWith("127.");
}

/**
 * Starts Chromium with a fresh profile and one page. The answer's `problems` collects console
 * errors, page errors and blocked requests, which `scenario()` fails on.
 */
export async function launch(scenario) {
  const artifacts = join(
    process.env.FERRY_BROWSER_ARTIFACTS || join(REPOSITORY, "target", "browser-artifacts"),
    scenario,
  );
  rmSync(artifacts, { recursive: true, force: true }); // only this run's screenshots
  mkdirSync(artifacts, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), "ferry-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.FERRY_CHROMIUM || "/usr/bin/chromium",
    headless: process.env.FERRY_BROWSER_HEADED !== "1",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    viewport: { width: 1280, height: 900 },
  });
  const problems = [];
  const requested = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    requested.push(url);
    if (isLoopback(url)) {
      return route.continue();
    }
    problems.push(`request to a non-loopback address: ${url}`);
    return route.abort("blockedbyclient");
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on("console", (message) => {
    if (message.type() === "error") {
      const where = message.location();
      problems.push(`console error: ${message.text()} (${where.url}:${where.lineNumber})`);
    }
  });
  page.on("pageerror", (error) => {
    problems.push(`page error: ${error.stack || error.message}`);
  });
  page.setDefaultTimeout(Number(process.env.FERRY_BROWSER_TIMEOUT_MS || 30_000));

  let shots = 0;
  const started = Date.now();
  return {
    /** Notes on stdout how long the scenario took to get here. */
    step(label) {
      console.log(`${String(Date.now() - started).padStart(6)} ms  ${label}`);
    },
    context,
    page,
    problems,
    requested,
    artifacts,
    /** Saves `NN-name.png`: the element `target` (a locator) when given, else the viewport;
     *  `style` is CSS applied while the picture is taken (e.g. to hide what is beside the
     *  point). Answers the file's path. */
    async screenshot(name, target, style) {
      shots += 1;
      const path = join(artifacts, `${String(shots).padStart(2, "0")}-${name}.png`);
      await (target ? target.screenshot({ path, style }) : page.screenshot({ path, style, fullPage: true }));
      return path;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Runs one scenario: launches the browser, hands it to `steps`, then fails (exit code 1, the
 * reason on stderr, a `failure.png` screenshot) on a thrown error or on any recorded problem.
 * On success the scenario's result is printed as one line `RESULT <json>` for the caller.
 */
export async function scenario(name, steps) {
  const started = Date.now();
  const browser = await launch(name);
  let failure = null;
  let result;
  try {
    result = await steps(browser);
  } catch (error) {
    failure = error;
  }
  if (failure || browser.problems.length > 0) {
    await browser.screenshot("failure").catch(() => {});
  }
  await browser.close().catch(() => {});
  if (browser.problems.length > 0) {
    console.error(`${name}: the browser saw problems:\n  ${browser.problems.join("\n  ")}`);
  }
  if (failure) {
    console.error(`${name} failed: ${failure.stack || failure}`);
  }
  if (failure || browser.problems.length > 0) {
    console.error(`screenshots: ${browser.artifacts}`);
    process.exitCode = 1;
    return;
  }
  console.log(`${name}: passed in ${Date.now() - started} ms; screenshots in ${browser.artifacts}`);
  console.log(`RESULT ${JSON.stringify(result ?? null)}`);
}

/**
 * Fails when a visible form control of the page has no accessible name (no label, no
 * aria-label, no aria-labelledby), so every field can be found by a screen reader.
 */
export async function assertLabelled(page, where) {
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll("input, select, textarea, button")]
      .filter((element) => element.type !== "hidden" && element.offsetParent !== null)
      .filter((element) => {
        const labelled = element.labels && element.labels.length > 0;
        const named = element.getAttribute("aria-label") || element.getAttribute("aria-labelledby");
        const text = element.tagName === "BUTTON" && element.textContent.trim().length > 0;
        return !(labelled || named || text);
      })
      .map((element) => element.outerHTML.slice(0, 120)),
  );
  if (unlabelled.length > 0) {
    throw new Error(`${where}: form controls without a label:\n  ${unlabelled.join("\n  ")}`);
  }
}

