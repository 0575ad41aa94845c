import assert from "node:assert/strict";
import { atomicWrite, atomicWriteJson } from "../agent/state/atomic_write.ts";

Deno.test({
  name: "atomicWrite replaces content and leaves no temp file",
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/state.json`;
      await atomicWriteJson(path, { a: 1 });
      await atomicWrite(path, "second");
      assert.equal(await Deno.readTextFile(path), "second");
      const names = [];
      for await (const e of Deno.readDir(dir)) names.push(e.name);
      assert.deepEqual(names, ["state.json"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
