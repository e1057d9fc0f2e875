#!/bin/sh
# multihomed-routing: per-address routing tables for static addresses.
# install.sh installs this as /etc/network/if-up.d/multihomed-routing and
# /etc/network/if-post-down.d/multihomed-routing (NetworkManager's
# 01-ifupdown runs them too), the placeholders replaced.
#
# A running daemon takes the event without a runtime start: the hand-over of
# hooks/dhclient/shim.sh (same slot claim; docs/routing.md). A reply without
# `done` (refused, daemon killed), none in 10 s, or no free slot: the
# executable does the work alone, started without the variables the runtime
# reads before our code. Always exit 0: ifup must not fail because of us.
# The FIFO is opened read-write (`1<>`): that never blocks, where a plain open
# would wait forever for a daemon that died after the pid check.

mhr_handover='@HANDOVER@'
if [ -p "$mhr_handover/hook.fifo" ] && read -r mhr_dpid 2>/dev/null <"$mhr_handover/daemon.pid" &&
	[ -n "${mhr_dpid##*[!0-9]*}" ] && [ -d "/proc/$mhr_dpid" ] && command -v timeout >/dev/null 2>&1; then
	mhr_out=$(
		set -C
		for mhr_slot in "$mhr_handover"/slot.*; do
			if [ -p "$mhr_slot" ] && true 2>/dev/null >"$mhr_handover/claim.${mhr_slot##*.}"; then
				read -r mhr_pid _ </proc/self/stat &&
					echo "ifupdown $mhr_pid ${mhr_slot##*.}" 1<>"$mhr_handover/hook.fifo" &&
					exec timeout -k 1 10 cat "$mhr_slot"
				exit 1
			fi
		done
		exit 1)
	# 124/137: timeout ended a wait the daemon took and never answered (stopped, wedged).
	case $? in 124|137) MHR_HANDOVER_UNANSWERED=1; export MHR_HANDOVER_UNANSWERED ;; esac
	case $mhr_out in
		done|*"
done")
			# Its log lines to stderr, as the executable writes them (no `read`: dash reads a pipe a byte per system call).
			mhr_rest="$mhr_out
"
			while [ -n "$mhr_rest" ]; do
				mhr_line=${mhr_rest%%"
"*}
				mhr_rest=${mhr_rest#*"
"}
				case $mhr_line in "log "*) printf '%s\n' "${mhr_line#log }" >&2 ;; esac
			done
			exit 0 ;;
	esac
fi
unset @RUNTIME_ENV@
exec '@EXECUTABLE@' --config '@CONFIG@' ifupdown
