/**
 * Placeholder: this program is not built yet (see the open issues).
 *
 * @module
 */
console.error("scripts/demo.ts: not built yet");
Deno.exit(1);
