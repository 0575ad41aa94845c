/**
 * Placeholder: this program is not built yet (see the open issues).
 *
 * @module
 */
console.error("agent/main.ts: not built yet");
Deno.exit(1);
