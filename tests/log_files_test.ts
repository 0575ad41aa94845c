/**
 * The agent's log files on a real filesystem: a full file rolls over, the directory stays under
 * its total, the debug file can be turned off, and a failed open is reported and retried.
 */
import assert from "node:assert/strict";
import { createLogger, REOPEN_AFTER_MS } from "../agent/log.ts";

Deno.test("log files: size cap per file and in total, debug optional, failed open retried", async () => {
  const dir = await Deno.makeTempDir({ prefix: "eo-logs-" });
  try {
    let t = new Date(2026, 4, 1, 12).getTime();
    const out: string[] = [];
    const log = createLogger({
      level: "INFO",
      stateDir: dir,
      maxFileBytes: 2_000,
      maxTotalBytes: 7_000,
      debugFile: false,
      write: (l) => out.push(l),
      now: () => new Date(t),
    });
    for (let i = 0; i < 400; i++) log.info(`line ${i} ${"x".repeat(40)}`);
    log.flush();
    const names = [...Deno.readDirSync(`${dir}/logs`)].map((e) => e.name).sort();
    const sizes = names.map((n) => Deno.statSync(`${dir}/logs/${n}`).size);
    assert.ok(names.length >= 3, `rolled over: ${names}`);
    assert.ok(sizes.every((s) => s <= 2_000), `each file capped: ${sizes}`);
    assert.ok(sizes.reduce((a, b) => a + b, 0) <= 7_000 + 2_000, `total capped: ${sizes}`);
    assert.ok(names.some((n) => /\.\d+\.log$/.test(n)));
    assert.throws(() => Deno.statSync(`${dir}/debug`), Deno.errors.NotFound, "no debug file");

    // The log directory vanishes and a file stands in its way: reported once, then retried.
    log.close();
    const log2 = createLogger({
      level: "INFO",
      stateDir: dir,
      write: (l) => out.push(l),
      now: () => new Date(t),
    });
    await Deno.remove(`${dir}/logs`, { recursive: true });
    await Deno.writeTextFile(`${dir}/logs`, "not a directory");
    out.length = 0;
    log2.info("while broken 1");
    log2.info("while broken 2");
    assert.equal(out.filter((l) => /Cannot write the log file/.test(l)).length, 1, out.join("\n"));
    await Deno.remove(`${dir}/logs`);
    t += REOPEN_AFTER_MS + 1;
    log2.info("after repair");
    log2.flush();
    assert.ok(
      out.some((l) => /open again; \d+ line\(s\) went to stdout only/.test(l)),
      out.join("\n"),
    );
    const text = [...Deno.readDirSync(`${dir}/logs`)]
      .map((e) => Deno.readTextFileSync(`${dir}/logs/${e.name}`)).join("");
    assert.match(text, /after repair/);
    log2.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
