# multihomed-routing: dhclient enter hook.
#
# Installed as /etc/dhcp/dhclient-enter-hooks.d/multihomed-routing (no dot in
# the name: run-parts skips such files). /sbin/dhclient-script SOURCES this
# file (dash): no bashisms, no `exit`, and every variable of ours starts with
# mhr_ and is unset again at the end.
#
# It runs `multihomed-routing dhclient-hook` with dhclient's environment. The
# executable prints `key=value` lines on stdout, read here without eval:
#   outcome=handled    it configured everything: `unset reason`, so the case
#                      statement of dhclient-script matches nothing and only
#                      the exit hooks run (exit status 0)
#   outcome=unusable   TIMEOUT with a recorded lease whose router does not
#                      answer (already removed): exit_with_hooks 2, as
#                      dhclient-script does
#   outcome=pass       not ours (PREINIT, MEDIUM, DEPREF6, ignored interface…):
#                      dhclient-script goes on as usual
#   resolv=keep        per-uplink DNS on: make_resolv_conf becomes a no-op, so
#                      /etc/resolv.conf is never rewritten by dhclient-script
#   call=make_resolv_conf, call=set_hostname
#                      dhclient-script's own functions that must still run
#                      for a handled reason (its case statement will not)
# Anything else on stdout is ignored. A missing executable, a non-zero exit
# status or no outcome line leave `reason` alone: dhclient-script then
# configures the interface itself (the host stays online) and we log why.
#
# The runtime reads NODE_OPTIONS and the other variables below before any code
# of ours runs (a `--require` there would run as root): the executable starts
# without them, in the command substitution's subshell only, so dhclient-script
# keeps its environment. install.sh strips the same list (RUNTIME_ENV) in
# every other entry point; a unit test holds them equal.

mhr_exe='@EXECUTABLE@'
mhr_config='@CONFIG@'
mhr_handover='@HANDOVER@'
mhr_outcome=
mhr_resolv=
mhr_calls=
mhr_status=0

mhr_log() {
	echo "multihomed-routing dhclient hook: $*" >&2
	logger -t multihomed-routing -p daemon.err -- "dhclient hook: $*" 2>/dev/null || :
}

if [ ! -x "$mhr_exe" ]; then
	mhr_log "executable $mhr_exe missing or not executable; leaving reason=$reason on $interface to dhclient-script"
else
	# No `set --`: the positional parameters belong to dhclient-script.
	mhr_via=
	mhr_unanswered=
	# A daemon runs: its daemon.pid names a live process (both paths below need one).
	mhr_daemon=
	if read -r mhr_dpid 2>/dev/null <"$mhr_handover/daemon.pid" && [ -n "${mhr_dpid##*[!0-9]*}" ] && [ -d "/proc/$mhr_dpid" ]; then
		mhr_daemon=1
	fi
	# A renewal that changes nothing, as the hook judged the last one of this
	# interface (lib/dhcp/renewal.ts; docs/dhcp.md, "Renewals that change
	# nothing"): outcome=pass without starting any process. Trusted only from
	# a live daemon's directory while nothing it depends on is newer than it:
	# the routing records (run_dir/entries), the config file, dnsmasq's pid file.
	case $reason in
		RENEW|REBIND) mhr_family=4 mhr_keys='ip_address subnet_mask broadcast_address routers rfc3442_classless_static_routes interface_mtu domain_name_servers' ;;
		RENEW6|REBIND6) mhr_family=6 mhr_keys='ip6_address ip6_prefixlen dhcp6_name_servers' ;;
		*) mhr_family= ;;
	esac
	case $interface in ''|.*|*[!A-Za-z0-9_.:@-]*) mhr_family= ;; esac
	case $mhr_config in ''|@*@) mhr_family= ;; esac
	mhr_renewal=$mhr_handover/renewal.$interface.$mhr_family
	mhr_run=${mhr_handover%/hook}
	if [ -n "$mhr_family" ] && [ -n "$mhr_daemon" ] && [ -f "$mhr_renewal" ] &&
		[ -d "$mhr_run/entries" ] && [ ! "$mhr_run/entries" -nt "$mhr_renewal" ] && [ ! "$mhr_config" -nt "$mhr_renewal" ] &&
		{ read -r mhr_want && read -r mhr_pidfile; } <"$mhr_renewal" && [ ! "$mhr_pidfile" -nt "$mhr_renewal" ]; then
		mhr_lease() { # new_ or old_: the watched options as BYTES:VALUE; each (leaseLine)
			mhr_l=
			for mhr_k in $mhr_keys; do
				eval "mhr_v=\${$1$mhr_k-}"
				mhr_l="$mhr_l${#mhr_v}:$mhr_v;"
			done
		}
		mhr_lease new_
		mhr_new=$mhr_l
		mhr_lease old_
		if [ "$mhr_new" = "$mhr_l" ] && [ "$mhr_new" = "$mhr_want" ]; then
			echo "multihomed-routing dhclient-hook: renewal changes nothing of ours: left to dhclient-script (address lifetime) reason=$reason iface=$interface" >&2
			mhr_out=outcome=pass
			mhr_via=renewal
		fi
		unset -f mhr_lease
	fi
	# A running daemon takes the event without a runtime start (docs/dhcp.md,
	# "Hand-over"). In a subshell: claim a free slot K of the daemon's
	# (creating claim.K with noclobber fails when it exists), open it
	# read-write on fd 3 (never blocks), write `KIND PID K` to the daemon's
	# FIFO (PID: the subshell's own, /proc/self read by the shell; the FIFO
	# read-write too, a plain open would wait forever for a daemon that died
	# after the pid check), and become bash, which reads the reply: its
	# `read -t` waits with a bound and no process of its own, which dash
	# cannot. The daemon works while bash starts, then reads the event from
	# /proc/PID/environ once PID runs bash. A reply without `done` (refused),
	# a daemon gone, none in 10 s, or no free slot: the executable runs alone
	# below. mhr_reply_wait is the if-up.d hook's (hooks/ifupdown/hook.sh; a
	# unit test holds them equal).
	if [ -z "$mhr_via" ] && [ -n "$mhr_daemon" ] && [ -p "$mhr_handover/hook.fifo" ] && [ -x /bin/bash ]; then
		mhr_wait='
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
		mhr_reply_wait 3 "$1" && printf %s "$mhr_reply"'
		mhr_out=$(
			set -C
			for mhr_slot in "$mhr_handover"/slot.*; do
				if [ -p "$mhr_slot" ] && true 2>/dev/null >"$mhr_handover/claim.${mhr_slot##*.}"; then
					read -r mhr_pid _ </proc/self/stat && exec 3<>"$mhr_slot" &&
						echo "dhclient-hook $mhr_pid ${mhr_slot##*.}" 1<>"$mhr_handover/hook.fifo" &&
						exec /bin/bash -p -c "$mhr_wait" mhr "$mhr_dpid"
					exit 1
				fi
			done
			exit 1)
		# 124: the daemon took the event and never answered (stopped, wedged).
		case $? in 124) mhr_unanswered=1 ;; esac
		case $mhr_out in
			*"
done") mhr_via=daemon ;;
		esac
	fi
	if [ -z "$mhr_via" ]; then
		mhr_timeout=
		if command -v timeout >/dev/null 2>&1; then
			mhr_timeout='timeout 120'
		fi
		mhr_out=$(
			if [ -n "$mhr_unanswered" ]; then export MHR_HANDOVER_UNANSWERED=1; fi
			unset NODE_OPTIONS NODE_EXTRA_CA_CERTS NODE_PATH NODE_ICU_DATA NODE_PRESERVE_SYMLINKS NODE_REPL_EXTERNAL_MODULE NODE_REPL_HISTORY NODE_V8_COVERAGE NODE_COMPILE_CACHE NODE_DEBUG NODE_DEBUG_NATIVE NODE_PENDING_DEPRECATION NODE_REDIRECT_WARNINGS NODE_CHANNEL_FD NODE_CHANNEL_SERIALIZATION_MODE NODE_UNIQUE_ID NODE_TLS_REJECT_UNAUTHORIZED OPENSSL_CONF OPENSSL_ENGINES OPENSSL_MODULES
			case $mhr_config in
				''|@*@) exec $mhr_timeout "$mhr_exe" dhclient-hook ;;
				*) exec $mhr_timeout "$mhr_exe" --config "$mhr_config" dhclient-hook ;;
			esac
		)
		mhr_status=$?
	fi
	# Line by line without `read` (dash reads a here-document a byte per system call).
	mhr_rest="$mhr_out
"
	while [ -n "$mhr_rest" ]; do
		mhr_line=${mhr_rest%%"
"*}
		mhr_rest=${mhr_rest#*"
"}
		case $mhr_line in
			"log "*)
				[ "$mhr_via" = daemon ] && printf '%s\n' "${mhr_line#log }" >&2 ;;
			outcome=handled|outcome=unusable|outcome=pass)
				mhr_outcome=${mhr_line#outcome=} ;;
			resolv=keep)
				mhr_resolv=keep ;;
			call=make_resolv_conf|call=set_hostname)
				mhr_calls="$mhr_calls ${mhr_line#call=}" ;;
			status=[0-9]|status=[0-9][0-9]|status=[0-9][0-9][0-9])
				[ "$mhr_via" = daemon ] && mhr_status=${mhr_line#status=} ;;
		esac
	done
	if [ "$mhr_resolv" = keep ]; then
		make_resolv_conf() { :; }
	fi
	if [ "$mhr_status" -ne 0 ] || [ -z "$mhr_outcome" ]; then
		mhr_log "$mhr_exe failed (exit status $mhr_status); leaving reason=$reason on $interface to dhclient-script"
	elif [ "$mhr_outcome" = handled ]; then
		for mhr_call in $mhr_calls; do
			case $mhr_call in
				make_resolv_conf) make_resolv_conf ;;
				set_hostname) command -v set_hostname >/dev/null 2>&1 && set_hostname ;;
			esac
		done
		unset reason
	elif [ "$mhr_outcome" = unusable ]; then
		unset mhr_exe mhr_config mhr_out mhr_status mhr_line mhr_outcome mhr_resolv mhr_calls mhr_call mhr_timeout mhr_handover mhr_via mhr_dpid mhr_daemon mhr_unanswered mhr_rest mhr_family mhr_keys mhr_renewal mhr_run mhr_want mhr_pidfile mhr_new mhr_l mhr_k mhr_v mhr_wait
		unset -f mhr_log
		if command -v exit_with_hooks >/dev/null 2>&1; then
			exit_with_hooks 2
		fi
		return 2
	fi
fi
unset mhr_exe mhr_config mhr_out mhr_status mhr_line mhr_outcome mhr_resolv mhr_calls mhr_call mhr_timeout mhr_handover mhr_via mhr_dpid mhr_daemon mhr_unanswered mhr_rest mhr_family mhr_keys mhr_renewal mhr_run mhr_want mhr_pidfile mhr_new mhr_l mhr_k mhr_v mhr_wait
unset -f mhr_log
