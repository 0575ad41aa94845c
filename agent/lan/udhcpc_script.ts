/**
 * The script busybox udhcpc runs at each DHCP event, kept as text so the agent writes it into its
 * state directory at start (no extra file to ship in the image or in a compiled binary).
 *
 * It runs inside the runtime's network namespace (udhcpc runs under `nsenter -n`), in the agent's
 * mount namespace, so it configures the interface itself and writes `key=value` event files the
 * supervisor watches. Applying the lease here, not in the agent, keeps a runtime's address right
 * while the agent restarts. Environment set by the supervisor:
 * - `EO_BB`: the busybox binary (sh, ip, cat, date, mv, awk);
 * - `EO_STEM`: path prefix of this vNIC's files (`.event`, `.lease`, `.bound`);
 * - `EO_METRIC`: metric of the default route (one per vNIC, so two DHCP vNICs don't replace each
 *   other's route);
 * - `EO_KEEP_IP`, `EO_KEEP_UNTIL`: a still-valid lease put back before the client started, and its
 *   expiry (epoch s); removed at a failed attempt once expired (the client never bound it).
 *
 * udhcpc calls `deconfig` when it starts as well as when it loses a lease; only the second removes
 * addresses (`.bound` holds the pid of the client that bound), so a restart keeps the address.
 *
 * @module
 */

/** The script text; `BB` in the first line is replaced by the busybox path. */
export const UDHCPC_SCRIPT = `#!BB sh
# udhcpc event script of edge-orchestrator (written by the agent at start; do not edit).
bb="$EO_BB"; f="$EO_STEM"; ev="$1"; lost=0
ipc() { "$bb" ip "$@"; }
case "$ev" in
deconfig)
  if [ -f "$f.bound" ] && [ "$("$bb" cat "$f.bound")" = "$PPID" ]; then
    ipc -4 addr flush dev "$interface"
    "$bb" rm -f "$f.bound"; lost=1
  fi
  ipc link set dev "$interface" up ;;
bound|renew)
  # Others first: deleting a primary address takes the secondaries of its subnet with it.
  for a in $(ipc -o -4 addr show dev "$interface" | "$bb" awk '{print $4}'); do
    [ "$a" = "$ip/$mask" ] || ipc addr del "$a" dev "$interface"
  done
  ipc addr replace "$ip/$mask" dev "$interface" \${broadcast:+broadcast $broadcast}
  [ -n "$mtu" ] && ipc link set dev "$interface" mtu "$mtu"
  if [ -n "$router" ]; then
    set -- $router
    ipc route replace default via "$1" dev "$interface" metric "$EO_METRIC"
  fi
  if [ -n "$staticroutes" ]; then
    set -- $staticroutes
    while [ $# -ge 2 ]; do
      ipc route replace "$1" via "$2" dev "$interface" metric "$EO_METRIC"; shift 2
    done
  fi
  echo "$PPID" > "$f.bound" ;;
leasefail|nak)
  if [ -n "$EO_KEEP_IP" ] && [ ! -f "$f.bound" ] && [ "$("$bb" date +%s)" -ge "\${EO_KEEP_UNTIL:-0}" ]; then
    ipc addr del "$EO_KEEP_IP" dev "$interface" 2>/dev/null && lost=1
  fi ;;
esac
tmp="$f.event.tmp$$"
{
  echo "event=$ev"; echo "at=$("$bb" date +%s)"; echo "pid=$PPID"; echo "lost=$lost"
  echo "interface=$interface"; echo "ip=$ip"; echo "mask=$mask"; echo "router=$router"
  echo "dns=$dns"; echo "domain=$(echo "$domain" | "$bb" tr -d '\\n=')"; echo "lease=$lease"
  echo "serverid=$serverid"
} > "$tmp"
case "$ev" in bound|renew) "$bb" cp "$tmp" "$f.lease.tmp$$" && "$bb" mv "$f.lease.tmp$$" "$f.lease" ;; esac
"$bb" mv "$tmp" "$f.event"
exit 0
`;

/** The script for a busybox at `busybox`. Pure. */
export function udhcpcScript(busybox: string): string {
  return UDHCPC_SCRIPT.replace("#!BB sh", `#!${busybox} sh`);
}
