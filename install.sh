#!/usr/bin/env bash
# Installs (or removes) multihomed-routing.
#
#   ./install.sh [--binary PATH] [--prefix DIR] [--sysconfdir DIR] [--destdir DIR]
#                [--no-start] [--dry-run]
#   ./install.sh --uninstall [--purge] [same location options] [--dry-run]
#   ./install.sh --print dhclient-hook|dnsmasq-conf [same location options]
#
# Without --binary it builds the executable first (`npm run build`, needs node
# and the dev dependencies); with --binary it installs the given executable,
# which needs no node on the target.
#
# What it installs (paths without DESTDIR):
#   $PREFIX/sbin/multihomed-routing                         the executable (0755)
#   $UNITDIR/multihomed-routing.service                      systemd unit (0644)
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
# --uninstall stops the daemon and removes every file above. The config file
# is removed only when it still equals the defaults; an edited config is kept
# (and reported) unless --purge is given.
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

# ---- the files we own -------------------------------------------------------
FILES=()
# add_file MODE PATH GENERATOR
add_file() { FILES+=("$1|$2|$3"); }

declare_files() {
  add_file 0755 "$INSTALLED_BINARY" "copy:$BINARY"
  add_file 0644 "$UNITDIR/$NAME.service" gen_unit
  add_file 0755 "$SYSCONFDIR/network/if-up.d/$NAME" gen_ifupdown_hook
  add_file 0755 "$SYSCONFDIR/network/if-post-down.d/$NAME" gen_ifupdown_hook
  add_file 0644 "$MANDIR/man8/$NAME.8" gen_man
  add_file 0644 "$SYSCONFDIR/dhcp/dhclient-enter-hooks.d/$NAME" gen_dhclient_hook
  if [ "$ACTION" = uninstall ] || want_dnsmasq_conf; then
    add_file 0644 "$SYSCONFDIR/dnsmasq.d/$NAME.conf" gen_dnsmasq_conf
  fi
  add_file 0644 "$SYSCONFDIR/udev/rules.d/99-$NAME.rules" gen_udev_rule
}

# udev runs it when a network interface goes away (hooks/udev/99-multihomed-routing.rules
# with the executable and config substituted). udev splits RUN on white space:
# the paths must not hold any, nor quotes.
gen_udev_rule() {
  local p
  for p in "$INSTALLED_BINARY" "$CONFIG_PATH"; do
    case $p in *[[:space:]\"\'\|\\]*) die "a path in the udev rule cannot hold white space, quotes, | or \\: '$p'" ;; esac
  done
  sed -e "s|@EXECUTABLE@|$INSTALLED_BINARY|g" -e "s|@CONFIG@|$CONFIG_PATH|g" "$SCRIPT_DIR/hooks/udev/99-$NAME.rules"
}

want_dnsmasq_conf() {
  [ -n "$DESTDIR" ] || [ -d "$SYSCONFDIR/dnsmasq.d" ] || command -v dnsmasq >/dev/null 2>&1
}

# dhclient-script sources it (no exec bit needed); see hooks/dhclient/shim.sh.
gen_dhclient_hook() {
  local src=$SCRIPT_DIR/hooks/dhclient/shim.sh out
  out=$(sed -e "s|^mhr_exe='@EXECUTABLE@'\$|mhr_exe='$INSTALLED_BINARY'|" \
            -e "s|^mhr_config='@CONFIG@'\$|mhr_config='$CONFIG_PATH'|" "$src") || die "cannot read $src"
  case $out in *@EXECUTABLE@*|*@CONFIG@*) die "$src: placeholders not found" ;; esac
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
gen_ifupdown_hook() {
  printf '#!/bin/sh\n# multihomed-routing: per-address routing tables for static addresses\nexec %s --config %s ifupdown\n' "$INSTALLED_BINARY" "$CONFIG_PATH"
}

gen_unit() {
  cat <<EOF
[Unit]
Description=multihomed-routing: per-uplink policy routing (table allocator and address watcher)
After=network-pre.target
Before=network.target
Wants=network-pre.target

[Service]
Type=simple
ExecStart=$INSTALLED_BINARY --config $CONFIG_PATH daemon
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
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
    run systemctl enable "$NAME.service"
    run systemctl restart "$NAME.service"
    say "systemd: enabled and (re)started $NAME.service"
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
  stop_direct_daemon
}

remove_path() {
  local path=$1 dest=$DESTDIR$1
  [ -e "$dest" ] || [ -L "$dest" ] || return 0
  run rm -f "$dest"
  say "removed $path"
}

# prune_empty_parents DIR: removes DESTDIR/DIR and its parents while empty, stopping at DESTDIR.
prune_empty_parents() {
  local dir=$1
  while [ "$dir" != / ] && [ -n "$dir" ] && [ -d "$DESTDIR$dir" ]; do
    rmdir "$DESTDIR$dir" 2>/dev/null || return 0
    dir=$(dirname "$dir")
  done
}

# Building needs Node.js >= 20.12 (single-executable support) and npm; say
# plainly what is missing instead of failing inside the build.
check_build_tools() {
  command -v node >/dev/null && command -v npm >/dev/null \
    || die "building needs Node.js >= 20.12 and npm (Debian: apt-get install nodejs npm, or NodeSource for a newer Node); or pass --binary PATH to install a prebuilt executable"
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=12)?0:1)' \
    || die "building needs Node.js >= 20.12 for single-executable builds; this is $(node --version). Install a newer Node.js or pass --binary PATH"
}

# ---- actions ----------------------------------------------------------------
do_install() {
  if [ -z "$BINARY" ]; then
    BINARY=$SCRIPT_DIR/dist/$NAME
    if [ "$DRY_RUN" = 1 ]; then say "would build: npm run build (in $SCRIPT_DIR)"
    else
      check_build_tools
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
}

do_uninstall() {
  stop_service
  declare_files
  local entry config=$DESTDIR$CONFIG_PATH bin=$DESTDIR$INSTALLED_BINARY
  # Decide about the config while the executable that knows the defaults is still there.
  if [ -e "$config" ]; then
    if [ "$PURGE" = 1 ]; then remove_path "$CONFIG_PATH"
    elif [ -x "$bin" ] && cmp -s <(defaults_of "$bin") "$config"; then remove_path "$CONFIG_PATH"
    else say "kept $CONFIG_PATH (edited; --purge removes it)"; fi
  fi
  for entry in "${FILES[@]}"; do
    IFS='|' read -r _ path _ <<<"$entry"
    remove_path "$path"
  done
  [ -d "$DESTDIR$CONFIG_DIR" ] && run rmdir --ignore-fail-on-non-empty "$DESTDIR$CONFIG_DIR"
  # In a staging root, also the directories that held only our files (never DESTDIR itself).
  if [ -n "$DESTDIR" ] && [ "$DRY_RUN" = 0 ]; then
    for entry in "${FILES[@]}"; do
      IFS='|' read -r _ path _ <<<"$entry"
      prune_empty_parents "$(dirname "$path")"
    done
  fi
  if have_systemd; then run systemctl daemon-reload; fi
  return 0
}

do_print() {
  [ -n "$BINARY" ] || BINARY=$SCRIPT_DIR/dist/$NAME
  case $PRINT in
    dhclient-hook) gen_dhclient_hook ;;
    dnsmasq-conf) gen_dnsmasq_conf ;;
    ifupdown-hook) gen_ifupdown_hook ;;
    unit) gen_unit ;;
    *) die "--print: unknown file $PRINT (dhclient-hook, dnsmasq-conf, ifupdown-hook, unit)" ;;
  esac
}

case $ACTION in
  print) do_print ;;
  install) do_install ;;
  uninstall) do_uninstall ;;
esac
