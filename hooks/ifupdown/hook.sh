#!/bin/bash -p
# multihomed-routing: per-address routing tables for static addresses.
# install.sh installs this as /etc/network/if-up.d/multihomed-routing and
# /etc/network/if-post-down.d/multihomed-routing (NetworkManager's
# 01-ifupdown runs them too), the placeholders replaced.
#
# A running daemon takes the event without a runtime start: the hand-over
# (docs/architecture.md; lib/daemon/handover.ts). bash, not sh: its `read -t`
# waits for the reply with a bound and no process of its own, which dash
# cannot; -p: no BASH_ENV, no functions from the environment. A reply without
# `done` (refused), a daemon gone, none in 10 s, or no free slot: the
# executable does the work alone, started without the variables the runtime
# reads before our code. Always exit 0: ifup must not fail because of us.

mhr_handover='@HANDOVER@'

# The reply, read the same way as in hooks/dhclient/shim.sh (a unit test holds the functions equal; no single quotes in it: the shim quotes it).
mhr_reply_wait() { # FD DAEMON_PID: 0 answered (mhr_reply), 124 taken and unanswered for 10 s, 1 no answer
	local LC_ALL=C mhr_for mhr_len mhr_rc mhr_i=0
	mhr_reply=
	# The daemon writes the PID it answers, the length in bytes, a line break and the reply (no NUL), in one write below
	# the pipe buffer; a reply for another PID is not ours (the slot was claimed again): no answer.
	# With the length read, the reply is all there (no -t for it, which costs two system calls a byte; LC_ALL=C: -N counts bytes).
	# The slot is open read-write, so it never ends: the daemon pid is checked every quarter second, for 10 s.
	while ((mhr_i++ < 40)); do
		IFS=" " read -r -t 0.25 -u "$1" mhr_for mhr_len
		mhr_rc=$?
		if ((mhr_rc == 0)); then
			[[ $mhr_for == "$$" && $mhr_len =~ ^[0-9]{1,5}$ ]] && IFS= read -r -N "$mhr_len" -u "$1" mhr_reply
			return
		fi
		((mhr_rc > 128)) && [ -d "/proc/$2" ] || return 1
	done
	return 124
}

# A free slot K is claimed by creating claim.K with noclobber (O_EXCL; the
# daemon removes it once this process let go of the slot); the slot is
# opened read-write on fd 3 (never blocks; the daemon finds it among this
# process's files), the request `ifupdown PID K` written to the FIFO,
# read-write too (a plain open would wait forever for a daemon that died
# after the pid check).
mhr_status=1
if read -r mhr_dpid 2>/dev/null <"$mhr_handover/daemon.pid" && [[ $mhr_dpid =~ ^[1-9][0-9]*$ ]] && [ -d "/proc/$mhr_dpid" ] && [ -p "$mhr_handover/hook.fifo" ]; then
	set -C
	for mhr_slot in "$mhr_handover"/slot.*; do
		{ [ -p "$mhr_slot" ] && : >"$mhr_handover/claim.${mhr_slot##*.}"; } 2>/dev/null || continue
		if exec 3<>"$mhr_slot" && printf 'ifupdown %s %s\n' "$$" "${mhr_slot##*.}" 1<>"$mhr_handover/hook.fifo"; then
			mhr_reply_wait 3 "$mhr_dpid"
			mhr_status=$?
		fi
		exec 3<&-
		break
	done
	set +C
fi
case $mhr_status in
	0)
		case $mhr_reply in
			*$'\ndone\n')
				# Its log lines to stderr, as the executable writes them. Split by IFS: bash's ${x%%…*} is quadratic.
				set -f
				IFS=$'\n'
				for mhr_line in $mhr_reply; do
					case $mhr_line in "log "*) printf '%s\n' "${mhr_line#log }" >&2 ;; esac
				done
				exit 0 ;;
		esac ;;
	# The daemon took the event and never answered (stopped, wedged): the executable does not ask it again.
	124) export MHR_HANDOVER_UNANSWERED=1 ;;
esac
unset @RUNTIME_ENV@
exec '@EXECUTABLE@' --config '@CONFIG@' ifupdown
