/**
 * The one helper that writes state files: temp file in the same directory, fsync, rename, fsync
 * of the directory. A crash or power cut leaves either the old or the new content, never a torn
 * file.
 *
 * @module
 */

/** Writes `data` to `path` atomically (same-directory temp file + fsync + rename). */
export async function atomicWrite(path: string, data: string | Uint8Array): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  // createNew: a fresh file, never an existing one or a symlink planted at that name.
  const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
  try {
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.sync();
  } catch (err) {
    file.close();
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  file.close();
  try {
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  // fsync the directory so the rename itself survives a power cut.
  await syncDir(dir);
}

/** fsyncs a directory so a new or renamed entry in it survives a power cut. Best effort: some
 * filesystems refuse to open a directory for sync (the rename is still atomic there). */
export async function syncDir(dir: string): Promise<void> {
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch { /* best effort */ }
}

/** Writes JSON (2-space indented, trailing newline) atomically. */
export function atomicWriteJson(path: string, value: unknown): Promise<void> {
  return atomicWrite(path, JSON.stringify(value, null, 2) + "\n");
}
