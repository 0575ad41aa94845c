/**
 * The control plane's web page in a real headless Chromium (Debian's `chromium`, driven by
 * `npm:playwright-core`), against real parts: the dev control plane in this process, the agent
 * and netmon as subprocesses with their permission flags, the local Docker engine and a veth
 * MACVLAN parent whose peer sits in a namespace of ours. The page must show the agent, create a
 * runtime from its form, show it running with its IP and MAC, and delete it. A screenshot is
 * saved under test-artifacts/ (gitignored) and its path printed. Needs root, Docker, chromium.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { startDevCloud } from "../scripts/devcloud/server.ts";
import { startAgent, stopAgent, TEST_BITS } from "./cloud_helpers.ts";
import {
  assertEngineFree,
  ensureStandin,
  freeNets,
  makeParent,
  sh,
  skipReason,
  STANDIN,
} from "./docker_helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const CHROMIUM = "/usr/bin/chromium";
/** environment.md, Browsers: what Debian's chromium needs to run headless as root here. */
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** Creating a runtime on this machine takes 2-10 s; 90 s leaves room for a loaded CI box. */
const RUNNING_TIMEOUT_MS = 90_000;

// playwright-core probes `existsSync("/proc/sys/fs/binfmt_misc/WSLInterop")` when it loads. In
// Node existsSync never throws; Deno 2.9 throws NotCapable for /proc/sys paths unless run with
// -A (even an explicit --allow-read of the path does not help). Restore Node's contract, a
// false answer, before loading it; the test runs with the tier's flags, never -A.
const nodeExistsSync = fs.existsSync;
fs.existsSync = (path: fs.PathLike) => {
  try {
    return nodeExistsSync(path);
  } catch {
    return false;
  }
};
const { chromium } = await import("playwright-core");

const skip = await skipReason();
/** Host-side ranges: /24s that overlap no route or needed address (tests/README.md). */
const [NA] = await freeNets(1);
if (skip) console.log(`browser_control_plane_test skipped: ${skip}`);

function netmonFlags(): string[] {
  return JSON.parse(Deno.readTextFileSync(`${ROOT}permissions.json`)).netmon.flags;
}

Deno.test({
  name: "web page: agent appears, runtime created from the page runs, then is deleted",
  ignore: skip !== null,
  // playwright-core keeps internal timers and pipes to the browser until its process is gone.
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  await Deno.stat(CHROMIUM).catch(() => {
    throw new Error(
      `${CHROMIUM} is missing: apt-get install chromium (scripts/ensure_test_tools.sh)`,
    );
  });
  await ensureStandin();
  await assertEngineFree();
  const tag = crypto.randomUUID().slice(0, 4);
  const device = `browser-${tag}`;
  const runtime = `eo-web-${tag}`;
  const parentName = `eobr${tag}`;
  const macvlan = `macvlan_${parentName}_${NA}.0_24`;
  const dir = await Deno.makeTempDir({ prefix: "eo-browser-" });
  const state = `${dir}/state`;
  await Deno.mkdir(state);
  const parent = await makeParent(parentName, `${NA}.250/24`, `${NA}.0/24`);
  const cloud = await startDevCloud({
    dir: `${dir}/cloud`,
    bits: TEST_BITS,
    apiPort: 0,
    log: () => {},
  });
  const netmon = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...netmonFlags(),
      `${ROOT}netmon/main.ts`,
      "--socket",
      `${state}/netmon.sock`,
      "--debounce",
      "300",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const mtls = await cloud.issueDevice(device);
  const agent = startAgent({
    url: cloud.url,
    mtlsDir: mtls,
    serverCa: cloud.caFile,
    stateDir: state,
    extra: ["--runtime-image", STANDIN],
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  try {
    await cloud.waitForAgent(device, 60_000);
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await page.goto(cloud.pageUrl!);
    const card = page.locator(`[data-agent="${device}"]`);
    await card.waitFor({ timeout: 15_000 });
    // The agent heartbeats every second (cloud_helpers): the page shows the last one.
    await card.locator("[data-role=heartbeat]", { hasText: /^heartbeat / }).waitFor({
      timeout: 15_000,
    });
    assert.equal(await card.locator(".badge").textContent(), "online");

    await card.locator("[name=name]").fill(runtime);
    await card.locator("[name=parent_interface]").fill(parentName);
    await card.locator("[name=network_mode]").selectOption("manual");
    await card.locator("[name=ip_address]").fill(`${NA}.60`);
    await card.locator("[name=subnet]").fill("255.255.255.0");
    await card.locator("button[type=submit]").click();
    const row = card.locator(`tr[data-runtime="${runtime}"]`);
    await card.locator(`tr[data-runtime="${runtime}"][data-status="running"]`)
      .waitFor({ timeout: RUNNING_TIMEOUT_MS })
      .catch(async (e) => {
        const seen = await row.textContent().catch(() => null);
        const msg = await card.locator(".msg").textContent().catch(() => null);
        throw new Error(
          `${runtime} not running on the page: row "${seen}", message "${msg}": ${e}`,
        );
      });
    const nets = await row.locator("td").nth(2).textContent() ?? "";
    assert.match(
      nets,
      new RegExp(`${macvlan}: ${NA!.replaceAll(".", "\\.")}\\.60 / ([0-9a-f]{2}:){5}[0-9a-f]{2}`),
    );
    assert.match(await row.locator("td").nth(3).textContent() ?? "", /^\d+\.\d+\.\d+\.\d+$/);
    // Two heartbeats at least, so the sparklines have a line to draw.
    const points = await card.locator("polyline.cpu").getAttribute("points") ?? "";
    assert.ok(points.split(" ").length >= 2, `CPU sparkline has no line: "${points}"`);

    await Deno.mkdir(`${ROOT}test-artifacts`, { recursive: true });
    const shot = `${ROOT}test-artifacts/browser_control_plane.png`;
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`screenshot: ${shot}`);

    await row.locator("button[data-action=delete]").click();
    await row.waitFor({ state: "detached", timeout: 60_000 });
    const left = await sh("docker", "ps", "-a", "--filter", `name=^${runtime}$`, "-q");
    assert.equal(left.trim(), "", "the runtime container is still there after Delete");
  } finally {
    await browser.close().catch(() => {});
    await stopAgent(agent);
    try {
      netmon.kill("SIGTERM");
    } catch { /* gone */ }
    await netmon.status;
    await cloud.stop();
    await sh("docker", "rm", "-f", runtime).catch(() => {});
    for (const net of [`${runtime}_internal`, macvlan]) {
      await sh("docker", "network", "rm", net).catch(() => {});
    }
    await parent.remove();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
