#!/bin/sh
# Installed as /etc/network/if-up.d/multihomed-routing and
# /etc/network/if-post-down.d/multihomed-routing (install.sh replaces
# @SBINDIR@). ifupdown and NetworkManager's 01-ifupdown pass everything in the
# environment; the executable reads MODE and PHASE and always exits 0.
exec @SBINDIR@/multihomed-routing ifupdown
