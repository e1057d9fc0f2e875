#!/usr/bin/env bash
# Installs (or removes) multihomed-routing.
#
#   ./install.sh [--binary PATH] [--prefix DIR] [--sysconfdir DIR] [--destdir DIR]
#                [--no-start] [--no-deps] [--dry-run]
#   ./install.sh --uninstall [--purge] [same location options] [--dry-run]
#   ./install.sh --print NAME [same location options]   (dhclient-hook, dnsmasq-conf,
#                ifupdown-hook, udev-rule, unit, socket-unit, event-example, config)
#
# Without --binary it builds the executable first (`npm ci` from
# package-lock.json when node_modules is missing, then `npm run build`: needs
# Node.js >= 20.12 and npm); with --binary it installs the given executable,
# which needs no node on the target.
#
# Dependencies (not under DESTDIR; --no-deps skips installing any): iproute2
# (`ip`) is required and installed with apt-get when missing; Node.js and npm
# are installed from the distribution only when it has a new enough Node
# (Debian 12 ships 18: the script says how to get one, or use --binary).
# isc-dhcp-client, ifupdown and dnsmasq are the operator's choice: the script
# says which are missing and what that means, and installs none of them.
#
# What it installs (paths without DESTDIR):
#   $PREFIX/sbin/multihomed-routing                         the executable (0755)
#   $UNITDIR/multihomed-routing.service                      systemd unit (0644)
#   $UNITDIR/multihomed-routing.socket                       its socket (0644): systemd
#       listens on socket_path (of the installed config, else the default)
#       before networking.service and NetworkManager.service start, so early
#       hooks queue on it instead of racing the daemon's start
#   $PREFIX/share/man/man8/multihomed-routing.8              manual page (0644)
#   $SYSCONFDIR/multihomed-routing/multihomed-routing.conf   the config file with its
#       documented defaults (`multihomed-routing config defaults`), written only
#       when there is none: an existing (edited) config is never overwritten.
#   $SYSCONFDIR/dhcp/dhclient-enter-hooks.d/multihomed-routing   dhclient enter
#       hook (0644: dhclient-script sources it; no dot in the name, run-parts
#       skips such files): hooks/dhclient/shim.sh with @EXECUTABLE@ and
#       @CONFIG@ replaced by the installed paths
#   $SYSCONFDIR/dnsmasq.d/multihomed-routing.conf   `servers-file=PATH` (PATH:
#       dnsmasq_servers_file of the installed config, else the default), so
#       the host's dnsmasq reads our per-interface servers. Installed when
#       dnsmasq is there (on PATH, or $SYSCONFDIR/dnsmasq.d exists) and always
#       under DESTDIR (a package has a fixed file list; without dnsmasq the
#       file is inert). dnsmasq reads it when (re)started: restart it once.
#
# --print NAME writes one generated file to stdout (what would be installed
# for these location options) and exits; tests use it to install the same
# hook as install.sh does.
#
# Then, when DESTDIR is empty and --no-start is not given: with systemd as
# PID 1 the unit is enabled and (re)started; without systemd the daemon is
# started directly in the background (pid file $PIDFILE, log $DAEMON_LOG), and
# the script says so: start it from your init system to survive a reboot.
#
# --uninstall stops the daemon, removes the hooks (so nothing re-adds routing),
# runs `multihomed-routing cleanup` (every rule and route of ours goes, main's
# prefix and default routes come back, saved sysctls are restored, our lines
# leave the dnsmasq servers-file and dnsmasq gets SIGHUP), then removes every
# other file above. The config file is removed only when it still equals the
# defaults; an edited config is kept (and reported) unless --purge is given,
# which also removes the lease store directory, run_dir and the daemon's log.
#
# Environment: DESTDIR, PREFIX (default /usr/local), SYSCONFDIR (default /etc),
# UNITDIR (default /etc/systemd/system: a locally installed unit, like the
# files under /usr/local), PIDFILE, DAEMON_LOG. Options win over the
# environment. SYSCONFDIR=/etc/netns/NAME installs the config for a test
# namespace (use --no-start there).
#
#   $SYSCONFDIR/udev/rules.d/99-multihomed-routing.rules    udev remove handler (0644)
# Later files (hooks, dnsmasq drop-in) are added in declare_files:
# one `add_file MODE PATH GENERATOR` line each; GENERATOR is `copy:SRC` or the
# name of a function printing the content. Generators that need the config
# path use $CONFIG_PATH (the installed path, without DESTDIR).
set -euo pipefail

NAME=multihomed-routing
# sudo and cron may hand us a PATH without the sbin directories (ip, dhclient, dnsmasq).
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
SYSCONFDIR=${SYSCONFDIR:-/etc}
UNITDIR=${UNITDIR:-/etc/systemd/system}
PIDFILE=${PIDFILE:-/run/$NAME.pid}
DAEMON_LOG=${DAEMON_LOG:-/var/log/$NAME.log}
BINARY=
ACTION=install
PURGE=0
DRY_RUN=0
START=1
DEPS=1
PRINT=

usage() { sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "$*"; }

while [ $# -gt 0 ]; do
  case $1 in
    --binary) BINARY=${2:?--binary needs a path}; shift ;;
    --binary=*) BINARY=${1#*=} ;;
    --prefix) PREFIX=${2:?--prefix needs a directory}; shift ;;
    --prefix=*) PREFIX=${1#*=} ;;
    --sysconfdir) SYSCONFDIR=${2:?--sysconfdir needs a directory}; shift ;;
    --sysconfdir=*) SYSCONFDIR=${1#*=} ;;
    --destdir) DESTDIR=${2:?--destdir needs a directory}; shift ;;
    --destdir=*) DESTDIR=${1#*=} ;;
    --uninstall) ACTION=uninstall ;;
    --purge) PURGE=1 ;;
    --dry-run|-n) DRY_RUN=1 ;;
    --no-start) START=0 ;;
    --no-deps) DEPS=0 ;;
    --print) ACTION=print; PRINT=${2:?--print needs a file name}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
  shift
done
[ "$PURGE" = 1 ] && [ "$ACTION" != uninstall ] && die "--purge goes with --uninstall"
for v in PREFIX SYSCONFDIR UNITDIR; do
  case ${!v} in /*) ;; *) die "$v must be an absolute path, got '${!v}'" ;; esac
  # The paths are baked into shell hooks and sed expressions: plain characters only.
  case ${!v} in *[!A-Za-z0-9_./+-]*) die "$v may only contain A-Z a-z 0-9 _ . / + -, got '${!v}'" ;; esac
done
DESTDIR=${DESTDIR%/}

SBINDIR=$PREFIX/sbin
CONFIG_DIR=$SYSCONFDIR/$NAME
# The config path as the installed system sees it: baked into the unit and,
# later, into the hook wrappers.
CONFIG_PATH=$CONFIG_DIR/$NAME.conf
INSTALLED_BINARY=$SBINDIR/$NAME
MANDIR=$PREFIX/share/man
# What the runtime reads from the environment before any code of ours runs
# (NODE_OPTIONS=--require would run a file as root; OPENSSL_CONF can load an
# engine; NODE_EXTRA_CA_CERTS costs ~80 ms a start): every entry point starts
# the executable without them. hooks/dhclient/shim.sh holds the same list.
RUNTIME_ENV='NODE_OPTIONS NODE_EXTRA_CA_CERTS NODE_PATH NODE_ICU_DATA NODE_PRESERVE_SYMLINKS NODE_REPL_EXTERNAL_MODULE NODE_REPL_HISTORY NODE_V8_COVERAGE NODE_COMPILE_CACHE NODE_DEBUG NODE_DEBUG_NATIVE NODE_PENDING_DEPRECATION NODE_REDIRECT_WARNINGS NODE_CHANNEL_FD NODE_CHANNEL_SERIALIZATION_MODE NODE_UNIQUE_ID NODE_TLS_REJECT_UNAUTHORIZED OPENSSL_CONF OPENSSL_ENGINES OPENSSL_MODULES'

# ---- the files we own -------------------------------------------------------
FILES=()
# add_file MODE PATH GENERATOR
add_file() { FILES+=("$1|$2|$3"); }

declare_files() {
  add_file 0755 "$INSTALLED_BINARY" "copy:$BINARY"
  add_file 0644 "$UNITDIR/$NAME.service" gen_unit
  add_file 0644 "$UNITDIR/$NAME.socket" gen_socket_unit
  add_file 0755 "$SYSCONFDIR/network/if-up.d/$NAME" gen_ifupdown_hook
  add_file 0755 "$SYSCONFDIR/network/if-post-down.d/$NAME" gen_ifupdown_hook
  add_file 0644 "$MANDIR/man8/$NAME.8" gen_man
  add_file 0644 "$SYSCONFDIR/dhcp/dhclient-enter-hooks.d/$NAME" gen_dhclient_hook
  if [ "$ACTION" = uninstall ] || want_dnsmasq_conf; then
    add_file 0644 "$SYSCONFDIR/dnsmasq.d/$NAME.conf" gen_dnsmasq_conf
  fi
  add_file 0644 "$SYSCONFDIR/udev/rules.d/99-$NAME.rules" gen_udev_rule
  add_file 0755 "$CONFIG_DIR/events.d/example.disabled" gen_event_example
}

# An event script that does nothing until the operator copies it to a name
# without a dot (run-parts conventions skip this one): docs/events.md.
gen_event_example() {
  cat <<'EOS'
#!/bin/sh
# Example event script of multihomed-routing (docs/events.md). The daemon runs
# every executable of this directory whose name has only letters, digits, _
# and - (this one's dot keeps it off), in name order, once per event, and
# kills it after event_script_timeout_ms. Enable: cp example.disabled 50-log
# The event: MHR_EVENT (address-configured, address-adopted, address-removed,
# address-degraded, health-up, health-down, uplink-changed, lease-refused,
# daemon-started, daemon-stopping), MHR_IFACE, MHR_FAMILY, MHR_ADDRESS,
# MHR_TABLE, MHR_RANK, MHR_REASON, MHR_TIME; empty when it does not apply.
case $MHR_EVENT in
  uplink-changed) logger -t mhr-event "unbound IPv$MHR_FAMILY traffic now via ${MHR_IFACE:-nothing}: $MHR_REASON" ;;
  health-down|address-removed) logger -t mhr-event "$MHR_EVENT $MHR_IFACE $MHR_ADDRESS: $MHR_REASON" ;;
esac
exit 0
EOS
}

# udev runs it when a network interface goes away (hooks/udev/99-multihomed-routing.rules
# with the executable and config substituted). udev splits RUN on white space:
# the paths must not hold any, nor quotes.
gen_udev_rule() {
  local p
  for p in "$INSTALLED_BINARY" "$CONFIG_PATH"; do
    case $p in *[[:space:]\"\'\|\\]*) die "a path in the udev rule cannot hold white space, quotes, | or \\: '$p'" ;; esac
  done
  # udev hands RUN programs the event's properties only, but rules (IMPORT, ENV) can add any.
  local unset_env
  unset_env=$(printf -- '-u %s ' $RUNTIME_ENV)
  sed -e "s|@EXECUTABLE@|$INSTALLED_BINARY|g" -e "s|@CONFIG@|$CONFIG_PATH|g" -e "s|@UNSET_ENV@|/usr/bin/env ${unset_env% }|g" \
    "$SCRIPT_DIR/hooks/udev/99-$NAME.rules"
}

want_dnsmasq_conf() {
  [ -n "$DESTDIR" ] || [ -d "$SYSCONFDIR/dnsmasq.d" ] || command -v dnsmasq >/dev/null 2>&1
}

# dhclient-script sources it (no exec bit needed); see hooks/dhclient/shim.sh.
gen_dhclient_hook() {
  local src=$SCRIPT_DIR/hooks/dhclient/shim.sh out
  out=$(sed -e "s|^mhr_exe='@EXECUTABLE@'\$|mhr_exe='$INSTALLED_BINARY'|" \
            -e "s|^mhr_config='@CONFIG@'\$|mhr_config='$CONFIG_PATH'|" \
            -e "s|^mhr_handover='@HANDOVER@'\$|mhr_handover='$(handover_dir)'|" "$src") || die "cannot read $src"
  case $out in *@EXECUTABLE@*|*@CONFIG@*|*@HANDOVER@*) die "$src: placeholders not found" ;; esac
  printf '%s\n' "$out"
}

# config_value KEY: the value in the installed config, else the default.
config_value() {
  local key=$1 v
  v=$(sed -n "s/^[[:space:]]*$key[[:space:]]*=[[:space:]]*//p" "$DESTDIR$CONFIG_PATH" 2>/dev/null | tail -n 1)
  if [ -z "$v" ] && [ -x "$BINARY" ]; then v=$(defaults_of "$BINARY" | sed -n "s/^#$key = //p"); fi
  v=${v%"${v##*[![:space:]]}"}
  [ -n "$v" ] || die "cannot tell $key (no config at $CONFIG_PATH and no executable to ask)"
  printf '%s\n' "$v"
}

gen_dnsmasq_conf() {
  printf '# multihomed-routing: each uplink'"'"'s DNS servers (server=NS@IFACE), kept by the dhclient hook.\n'
  printf '# See docs/dns.md: the host resolver set-up this goes with (no-resolv, resolv.conf → 127.0.0.1).\n'
  printf 'servers-file=%s\n' "$(config_value dnsmasq_servers_file)"
}

# The manual page, from the executable being installed (so it describes exactly
# its commands and config keys): `multihomed-routing help man`.
gen_man() { "$BINARY" help man; }

# ifupdown (and NetworkManager through 01-ifupdown) runs it from if-up.d and
# if-post-down.d; the executable reads MODE/PHASE and always exits 0.
# hooks/ifupdown/hook.sh: the daemon's hand-over first, else the executable.
gen_ifupdown_hook() {
  local out
  out=$(sed -e "s|'@EXECUTABLE@'|$INSTALLED_BINARY|" -e "s|'@CONFIG@'|$CONFIG_PATH|" -e "s|@RUNTIME_ENV@|$RUNTIME_ENV|" \
            -e "s|^mhr_handover='@HANDOVER@'\$|mhr_handover='$(handover_dir)'|" "$SCRIPT_DIR/hooks/ifupdown/hook.sh") || die "cannot read hooks/ifupdown/hook.sh"
  case $out in *@*@*) die "hooks/ifupdown/hook.sh: placeholders not found" ;; esac
  printf '%s\n' "$out"
}

# Where the daemon listens for hooks handing their event over (lib/daemon/handover.ts): run_dir/hook.
handover_dir() {
  local dir
  # No config and no executable to ask (--print from a fresh checkout): run_dir's default.
  dir=$(config_value run_dir 2>/dev/null) || dir=/run/multihomed-routing
  dir=$dir/hook
  case $dir in /*) ;; *) die "run_dir must be an absolute path, got '$dir'" ;; esac
  case $dir in *[!A-Za-z0-9_./+-]*) die "run_dir may only contain A-Z a-z 0-9 _ . / + - (it is baked into the hooks), got '$dir'" ;; esac
  printf '%s\n' "$dir"
}

# The daemon, socket-activated (lib/daemon/activation.ts): early in boot,
# without waiting for basic.target, since the network managers it serves
# run that early too (networking.service has DefaultDependencies=no).
gen_unit() {
  cat <<EOF
[Unit]
Description=multihomed-routing: per-uplink policy routing (table allocator and address watcher)
Documentation=man:$NAME(8)
DefaultDependencies=no
Requires=$NAME.socket
After=$NAME.socket local-fs.target
Before=network.target networking.service NetworkManager.service shutdown.target
Conflicts=shutdown.target

[Service]
Type=simple
UnsetEnvironment=$RUNTIME_ENV
ExecStart=$INSTALLED_BINARY --config $CONFIG_PATH daemon
ExecReload=/bin/kill -HUP \$MAINPID
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
Also=$NAME.socket
EOF
}

# The daemon's socket: systemd listens before the network managers start.
# The socket's directory is made 0700 (the daemon checks it, lib/daemon/socket.ts);
# its parent (run_dir by default) is made first, 0755: dnsmasq reads the
# servers-file there.
gen_socket_unit() {
  local sock
  sock=$(config_value socket_path)
  cat <<EOF
[Unit]
Description=multihomed-routing: the daemon's socket (hooks queue on it while the daemon starts)
Documentation=man:$NAME(8)
DefaultDependencies=no
After=local-fs.target
Before=sockets.target networking.service NetworkManager.service shutdown.target
Conflicts=shutdown.target

[Socket]
ExecStartPre=/bin/mkdir -p $(dirname "$(dirname "$sock")")
ListenStream=$sock
SocketMode=0600
DirectoryMode=0700
RemoveOnStop=yes

[Install]
WantedBy=sockets.target
EOF
}

# ---- helpers ----------------------------------------------------------------
run() {
  if [ "$DRY_RUN" = 1 ]; then say "would run: $*"; else "$@"; fi
}

have_systemd() { [ -z "$DESTDIR" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; }

# install_one MODE PATH GENERATOR: writes only when the content or mode differs.
install_one() {
  local mode=$1 path=$2 gen=$3 dest=$DESTDIR$2 tmp
  if [ "$DRY_RUN" = 1 ]; then
    say "would install $path ($mode)"
    return
  fi
  tmp=$(mktemp)
  case $gen in
    copy:*) cp "${gen#copy:}" "$tmp" ;;
    *) "$gen" >"$tmp" ;;
  esac
  if [ -f "$dest" ] && cmp -s "$tmp" "$dest" && [ "$(stat -c %a "$dest")" = "${mode#0}" ]; then
    rm -f "$tmp"
    say "unchanged $path"
    return
  fi
  install -D -m "$mode" "$tmp" "$dest.new.$$"
  mv -f "$dest.new.$$" "$dest"
  rm -f "$tmp"
  say "installed $path ($mode)"
}

defaults_of() { "$1" config defaults; }

install_config() {
  local dest=$DESTDIR$CONFIG_PATH
  if [ -e "$dest" ]; then
    if cmp -s <(defaults_of "$BINARY") "$dest"; then say "unchanged $CONFIG_PATH"
    else say "kept $CONFIG_PATH (edited; not overwritten)"; fi
    return
  fi
  if [ "$DRY_RUN" = 1 ]; then say "would install $CONFIG_PATH (0644, defaults)"; return; fi
  install -d -m 0755 "$DESTDIR$CONFIG_DIR"
  defaults_of "$BINARY" >"$dest.new.$$"
  chmod 0644 "$dest.new.$$"
  mv -f "$dest.new.$$" "$dest"
  say "installed $CONFIG_PATH (0644, defaults)"
}

has_daemon_command() { "$DESTDIR$INSTALLED_BINARY" daemon --help >/dev/null 2>&1; }

pidfile_pid() {
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  case $pid in ''|*[!0-9]*) return 1 ;; esac
  # Only ours: the process must be running our executable.
  [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$INSTALLED_BINARY" ] || return 1
  echo "$pid"
}

stop_direct_daemon() {
  local pid
  pid=$(pidfile_pid) || { [ -e "$PIDFILE" ] && run rm -f "$PIDFILE"; return 0; }
  run kill "$pid"
  if [ "$DRY_RUN" = 0 ]; then
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$PIDFILE"
  fi
  say "stopped the daemon (pid $pid)"
}

start_service() {
  if [ -n "$DESTDIR" ]; then say "not starting the daemon (DESTDIR is set)"; return; fi
  if [ "$START" = 0 ]; then say "not starting the daemon (--no-start)"; return; fi
  if [ "$DRY_RUN" = 0 ] && ! has_daemon_command; then
    say "not starting: this build of $NAME has no 'daemon' command yet"
    return
  fi
  if have_systemd; then
    run systemctl daemon-reload
    run systemctl enable "$NAME.socket" "$NAME.service"
    # The socket cannot restart under a running service: the service goes first.
    run systemctl stop "$NAME.service"
    run systemctl restart "$NAME.socket"
    run systemctl start "$NAME.service"
    say "systemd: enabled and (re)started $NAME.socket and $NAME.service"
  else
    stop_direct_daemon
    if [ "$DRY_RUN" = 1 ]; then
      say "would start: $INSTALLED_BINARY --config $CONFIG_PATH daemon (pid file $PIDFILE)"
      return
    fi
    nohup "$INSTALLED_BINARY" --config "$CONFIG_PATH" daemon </dev/null >>"$DAEMON_LOG" 2>&1 &
    echo $! >"$PIDFILE"
    say "no systemd: started the daemon directly (pid $!, pid file $PIDFILE, log $DAEMON_LOG)."
    say "  It will not come back after a reboot: start '$INSTALLED_BINARY --config $CONFIG_PATH daemon' from your init system."
  fi
}

stop_service() {
  [ -n "$DESTDIR" ] && return
  if have_systemd && systemctl cat "$NAME.service" >/dev/null 2>&1; then
    run systemctl disable --now "$NAME.service" || true
    say "systemd: stopped and disabled $NAME.service"
  fi
  if have_systemd && systemctl cat "$NAME.socket" >/dev/null 2>&1; then
    run systemctl disable --now "$NAME.socket" || true
    say "systemd: stopped and disabled $NAME.socket"
  fi
  stop_direct_daemon
}

remove_path() {
  local path=$1 dest=$DESTDIR$1
  [ -e "$dest" ] || [ -L "$dest" ] || return 0
  run rm -f "$dest"
  [ "$DRY_RUN" = 1 ] || say "removed $path"
}

# prune_empty_parents DIR: removes DESTDIR/DIR and its parents while empty, stopping at DESTDIR.
prune_empty_parents() {
  local dir=$1
  while [ "$dir" != / ] && [ -n "$dir" ] && [ -d "$DESTDIR$dir" ]; do
    rmdir "$DESTDIR$dir" 2>/dev/null || return 0
    dir=$(dirname "$dir")
  done
}

# ---- dependencies -------------------------------------------------------------
NOTES=()
note() { NOTES+=("$*"); }

have() { command -v "$1" >/dev/null 2>&1; }

# apt_install PKG...: Debian/Ubuntu only; says what it does.
apt_install() {
  if ! have apt-get; then return 1; fi
  if [ "$DRY_RUN" = 1 ]; then say "would run: apt-get install -y --no-install-recommends $*"; return 0; fi
  say "installing from the distribution: $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2 \
    || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2; }
}

# The programs the executable runs on the target: ip is required; the rest
# decide which integrations work.
check_run_deps() {
  if ! have ip; then
    if [ "$DEPS" = 1 ] && apt_install iproute2; then :
    else die "'ip' (iproute2) is required: install iproute2"; fi
  fi
  have setpriv || note "setpriv (util-linux) missing: the daemon's 'ip monitor' is not tied to its life."
  have logger || note "logger (bsdutils) missing: nothing goes to syslog, only to stderr."
  have dhclient || note "dhclient (isc-dhcp-client) not installed: DHCP uplinks need it (or NetworkManager); the dhclient hook is installed anyway and is inert without it."
  have ifup || note "ifup (ifupdown) not installed: static uplinks in /etc/network/interfaces need it; the if-up.d hooks are inert without it (NetworkManager's 01-ifupdown dispatcher also runs them)."
  if ! have dnsmasq; then
    note "dnsmasq not installed: per-uplink DNS is off and dhclient-script keeps writing resolv.conf (dnsmasq_mode = auto). To turn it on, install dnsmasq as the host's resolver reading the servers-file (docs/dns.md), or set 'dnsmasq_mode = yes' in $CONFIG_PATH; 'multihomed-routing status' says which."
  fi
}

node_ok() { have node && node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=12)?0:1)'; }

NODE_ADVICE="Building needs Node.js >= 20.12 (single-executable support) and npm.
  Debian 12 ships Node.js 18; get a newer one from NodeSource (https://github.com/nodesource/distributions:
  nodejs 20 or 22 .deb packages), from nodejs.org (tarball; put its bin/ on PATH), or with nvm.
  Or build elsewhere and install the result here: ./install.sh --binary PATH/TO/multihomed-routing"

# Node.js >= 20.12 and npm for building: from the distribution when its
# candidate is new enough (Ubuntu 24.04: 18, Debian 13: 20.19), else advice.
check_build_tools() {
  if ! node_ok && [ "$DEPS" = 1 ] && have apt-cache; then
    local cand
    cand=$(apt-cache policy nodejs 2>/dev/null | sed -n 's/^ *Candidate: *//p')
    case $cand in
      ''|'(none)') ;;
      *) if dpkg --compare-versions "$cand" ge 20.12; then apt_install nodejs npm || true; fi ;;
    esac
  fi
  if [ "$DRY_RUN" = 1 ]; then node_ok || say "would need: Node.js >= 20.12 and npm (not found)"; return 0; fi
  have node || die "$NODE_ADVICE"
  node_ok || die "this is Node.js $(node --version). $NODE_ADVICE"
  if ! have npm; then
    [ "$DEPS" = 1 ] && apt_install npm >/dev/null 2>&1 || true
    have npm || die "npm is missing (Debian: apt-get install npm; NodeSource's nodejs includes it). $NODE_ADVICE"
  fi
}

# ---- actions ----------------------------------------------------------------
do_install() {
  [ -z "$DESTDIR" ] && check_run_deps
  if [ -z "$BINARY" ]; then
    BINARY=$SCRIPT_DIR/dist/$NAME
    check_build_tools
    if [ "$DRY_RUN" = 1 ]; then say "would build: npm ci (when node_modules is missing) and npm run build (in $SCRIPT_DIR)"
    else
      if [ ! -x "$SCRIPT_DIR/node_modules/.bin/esbuild" ]; then
        say "installing build dependencies (npm ci)"
        (cd "$SCRIPT_DIR" && npm ci --no-audit --no-fund) >&2 || die "npm ci failed"
      fi
      say "building $NAME (npm run build)"
      (cd "$SCRIPT_DIR" && npm run --silent build) >&2 || die "build failed"
    fi
  fi
  if [ "$DRY_RUN" = 0 ] || [ -e "$BINARY" ]; then
    [ -f "$BINARY" ] && [ -x "$BINARY" ] || die "not an executable file: $BINARY"
    "$BINARY" --version >/dev/null || die "$BINARY does not run"
  fi
  BINARY=$(readlink -f "$BINARY" 2>/dev/null || echo "$BINARY")
  declare_files
  local entry
  for entry in "${FILES[@]}"; do
    IFS='|' read -r mode path gen <<<"$entry"
    install_one "$mode" "$path" "$gen"
  done
  if [ "$DRY_RUN" = 1 ] && [ ! -x "$BINARY" ]; then
    say "would install $CONFIG_PATH (0644, defaults) unless it exists"
  else
    install_config
  fi
  start_service
  summary_install
}

summary_install() {
  local n
  if [ "$DRY_RUN" = 1 ]; then
    for n in "${NOTES[@]}"; do say "note: $n"; done
    return 0
  fi
  say ""
  say "done. Next:"
  if [ -n "$DESTDIR" ]; then
    say "  files staged under $DESTDIR (nothing started)."
    return
  fi
  say "  - $INSTALLED_BINARY status        what is managed now (nothing until an uplink comes up)"
  say "  - $INSTALLED_BINARY doctor        checks this host and explains what is wrong, with the fix"
  say "  - bring an uplink up again (ifdown/ifup IFACE, or renew its DHCP lease) so its hooks run"
  say "  - the config: $CONFIG_PATH (documented defaults; 'man $NAME')"
  say "  - event scripts: $CONFIG_DIR/events.d (see example.disabled; docs/events.md)"
  if [ -e "$DESTDIR$SYSCONFDIR/dnsmasq.d/$NAME.conf" ]; then
    say "  - restart dnsmasq once so it reads $SYSCONFDIR/dnsmasq.d/$NAME.conf, then renew the leases: per-uplink DNS is on while it reads the servers-file (docs/dns.md: the resolver set-up)"
  fi
  for n in "${NOTES[@]}"; do say "  note: $n"; done
  say "  remove it all: ./install.sh --uninstall (add --purge for the config and state)"
}

# The hooks go first: nothing may re-add routing while cleanup removes it.
HOOK_PATHS=()
is_hook() { case $1 in */if-up.d/*|*/if-post-down.d/*|*/dhclient-enter-hooks.d/*|*/udev/rules.d/*) return 0 ;; esac; return 1; }

# Runs `multihomed-routing cleanup` on this host (never under DESTDIR).
run_cleanup() {
  local bin=$INSTALLED_BINARY
  [ -n "$DESTDIR" ] && return 0
  if [ ! -x "$bin" ]; then say "no $bin: rules and routes not cleaned up"; return 0; fi
  if [ "$DRY_RUN" = 1 ]; then
    say "would run: $bin --config $CONFIG_PATH cleanup; it would do:"
    "$bin" --config "$CONFIG_PATH" --dry-run cleanup 2>&1 | sed 's/^/  /' || true
    return 0
  fi
  "$bin" --config "$CONFIG_PATH" cleanup || say "cleanup reported a problem (see above); continuing the uninstall"
}

# Directories of runtime state and the lease store (only with --purge).
purge_state() {
  [ -n "$DESTDIR" ] && return 0
  local bin=$INSTALLED_BINARY store= run=
  BINARY=$bin
  if [ -x "$bin" ] && [ -r "$CONFIG_PATH" ]; then
    store=$(config_value store_path 2>/dev/null || true); run=$(config_value run_dir 2>/dev/null || true)
  fi
  store=${store:-/var/lib/$NAME/leases.json}; run=${run:-/run/$NAME}
  local d
  for d in "$(dirname "$store")" "$run"; do
    case $d in */$NAME|*/$NAME/*) ;; *) say "kept $d (not named $NAME: not ours to remove)"; continue ;; esac
    [ -e "$d" ] || continue
    run rm -rf "$d"; [ "$DRY_RUN" = 1 ] || say "removed $d"
  done
  if [ -e "$DAEMON_LOG" ]; then run rm -f "$DAEMON_LOG"; [ "$DRY_RUN" = 1 ] || say "removed $DAEMON_LOG"; fi
}

do_uninstall() {
  stop_service
  declare_files
  local entry config=$DESTDIR$CONFIG_PATH bin=$DESTDIR$INSTALLED_BINARY
  for entry in "${FILES[@]}"; do
    IFS='|' read -r _ path _ <<<"$entry"
    is_hook "$path" && remove_path "$path"
  done
  run_cleanup
  [ "$PURGE" = 1 ] && purge_state
  # Decide about the config while the executable that knows the defaults is still there.
  if [ -e "$config" ]; then
    if [ "$PURGE" = 1 ]; then remove_path "$CONFIG_PATH"
    elif [ -x "$bin" ] && cmp -s <(defaults_of "$bin") "$config"; then remove_path "$CONFIG_PATH"
    else say "kept $CONFIG_PATH (edited; --purge removes it)"; fi
  fi
  for entry in "${FILES[@]}"; do
    IFS='|' read -r _ path _ <<<"$entry"
    is_hook "$path" && continue
    remove_path "$path"
  done
  # The operator's event scripts stay, named.
  local events=$DESTDIR$CONFIG_DIR/events.d
  if [ -d "$events" ]; then
    if [ -n "$(ls -A "$events")" ]; then say "kept $CONFIG_DIR/events.d (the operator's event scripts: $(ls -A "$events" | tr '\n' ' ' | sed 's/ $//'))"
    else run rmdir "$events"; fi
  fi
  [ -d "$DESTDIR$CONFIG_DIR" ] && run rmdir --ignore-fail-on-non-empty "$DESTDIR$CONFIG_DIR"
  # In a staging root, also the directories that held only our files (never DESTDIR itself).
  if [ -n "$DESTDIR" ] && [ "$DRY_RUN" = 0 ]; then
    for entry in "${FILES[@]}"; do
      IFS='|' read -r _ path _ <<<"$entry"
      prune_empty_parents "$(dirname "$path")"
    done
  fi
  if have_systemd; then run systemctl daemon-reload; fi
  [ "$DRY_RUN" = 1 ] || say "uninstalled."
  return 0
}

do_print() {
  [ -n "$BINARY" ] || BINARY=$SCRIPT_DIR/dist/$NAME
  case $PRINT in
    dhclient-hook) gen_dhclient_hook ;;
    dnsmasq-conf) gen_dnsmasq_conf ;;
    ifupdown-hook) gen_ifupdown_hook ;;
    udev-rule) gen_udev_rule ;;
    unit) gen_unit ;;
    socket-unit) gen_socket_unit ;;
    event-example) gen_event_example ;;
    config) defaults_of "$BINARY" ;;
    *) die "--print: unknown file $PRINT (dhclient-hook, dnsmasq-conf, ifupdown-hook, udev-rule, unit, socket-unit, event-example, config)" ;;
  esac
}

case $ACTION in
  print) do_print ;;
  install) do_install ;;
  uninstall) do_uninstall ;;
esac
