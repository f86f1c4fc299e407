#!/bin/sh
# Runs as PID 1 of fresh namespaces (started by `unshare --pid --fork --mount --net --uts --ipc
# --propagation private`): builds a throw-away copy-on-write view of / and boots systemd in it.
# Every write lands in a tmpfs that vanishes with the namespace; the host's /tmp and services are
# never touched. Usage: boot_sandbox.sh SCRATCH_DIR [BIND_DIR...] (BIND_DIRs appear read-only at the
# same path inside).
set -eu
scratch="$1"; shift
case "$scratch" in /?*) ;; *) echo "boot_sandbox.sh: SCRATCH_DIR must be an absolute path" >&2; exit 2 ;; esac
mount -t tmpfs -o mode=0755 kura-sandbox "$scratch"
mkdir "$scratch/upper" "$scratch/work" "$scratch/root"
root="$scratch/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$scratch/upper,workdir=$scratch/work" "$root"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
for dir in "$@"; do
    mkdir -p "$root$dir"
    mount --bind "$dir" "$root$dir"
    mount -o remount,bind,ro "$root$dir"
done
# No host service may start in here: drop every enablement link (inside the overlay only).
find "$root/etc/systemd/system" -mindepth 1 -maxdepth 1 -name '*.wants' -exec rm -rf {} +
exec chroot "$root" env container=kura-test /lib/systemd/systemd --system --unit=multi-user.target
