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

mhr_exe='@EXECUTABLE@'
mhr_config='@CONFIG@'
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
	mhr_timeout=
	if command -v timeout >/dev/null 2>&1; then
		mhr_timeout='timeout 120'
	fi
	case $mhr_config in
		''|@*@)
			mhr_out=$($mhr_timeout "$mhr_exe" dhclient-hook) ;;
		*)
			mhr_out=$($mhr_timeout "$mhr_exe" --config "$mhr_config" dhclient-hook) ;;
	esac
	mhr_status=$?
	while IFS= read -r mhr_line; do
		case $mhr_line in
			outcome=handled|outcome=unusable|outcome=pass)
				mhr_outcome=${mhr_line#outcome=} ;;
			resolv=keep)
				mhr_resolv=keep ;;
			call=make_resolv_conf|call=set_hostname)
				mhr_calls="$mhr_calls ${mhr_line#call=}" ;;
		esac
	done <<mhr_EOF
$mhr_out
mhr_EOF
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
		unset mhr_exe mhr_config mhr_out mhr_status mhr_line mhr_outcome mhr_resolv mhr_calls mhr_call mhr_timeout
		unset -f mhr_log
		if command -v exit_with_hooks >/dev/null 2>&1; then
			exit_with_hooks 2
		fi
		return 2
	fi
fi
unset mhr_exe mhr_config mhr_out mhr_status mhr_line mhr_outcome mhr_resolv mhr_calls mhr_call mhr_timeout
unset -f mhr_log
