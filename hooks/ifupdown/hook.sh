#!/bin/sh
# multihomed-routing: per-address routing tables for static addresses.
# install.sh installs this as /etc/network/if-up.d/multihomed-routing and
# /etc/network/if-post-down.d/multihomed-routing (NetworkManager's
# 01-ifupdown runs them too), the placeholders replaced.
#
# A running daemon takes the event without a runtime start: the hand-over of
# hooks/dhclient/shim.sh (same reader; docs/routing.md). A reply without
# `done` (refused, daemon killed) or none in 10 s: the executable does the work
# alone, started without the variables the runtime reads before our code.
# Always exit 0: ifup must not fail because of us.

mhr_handover='@HANDOVER@'
if [ -p "$mhr_handover/hook.fifo" ] && read -r mhr_dpid 2>/dev/null <"$mhr_handover/daemon.pid" &&
	[ -n "${mhr_dpid##*[!0-9]*}" ] && [ -d "/proc/$mhr_dpid" ] && command -v timeout >/dev/null 2>&1; then
	mhr_out=$(exec timeout -k 1 10 sh -c '
			f=$1/reply.$$
			mkfifo -m 600 "$f" || exit 1
			echo "$2 $$" >"$1/hook.fifo" || exit 1
			while IFS= read -r l; do
				case $l in
					"log "*) printf "%s\n" "${l#log }" >&2 ;;
					*) printf "%s\n" "$l" ;;
				esac
			done <"$f"' mhr-handover "$mhr_handover" ifupdown)
	# 124/137: timeout ended a wait the daemon took and never answered (stopped, wedged).
	case $? in 124|137) MHR_HANDOVER_UNANSWERED=1; export MHR_HANDOVER_UNANSWERED ;; esac
	case $mhr_out in
		done|*"
done") exit 0 ;;
	esac
fi
unset @RUNTIME_ENV@
exec '@EXECUTABLE@' --config '@CONFIG@' ifupdown
