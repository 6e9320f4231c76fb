#!/usr/bin/env bash
# `supermachine pull` output: on a real pseudo-terminal (tests/oci/ptyrun.py)
# the docker-like display, one line per layer redrawn in place with state,
# bytes/total and rate; to a pipe or file, plain lines (no escapes), one per
# finished step; with -q only the name. A throttling proxy
# (tests/oci/faultproxy.py, FAULTPROXY_RATE) makes downloads last long
# enough to be seen in progress.
. "$(dirname "$0")/../oci/lib.sh"
start_registry || { echo "FAIL oci-progress-setup: no registry"; exit 1; }
L=$T/layout
new_image $L v1
for n in 600000 300000 2000; do
	mkdir -p $T/l$n && head -c $n /dev/urandom >$T/l$n/f
	add_layer $L v1 $T/l$n
done
push $L v1 p:v1
skopeo inspect --raw --tls-verify=false docker://$REG/p:v1 >$T/manifest.json
pp=$(free_port)
FAULTPROXY_RATE=400000 python3 "$SM_TOP/tests/oci/faultproxy.py" $pp $REG pass \
	$T/proxy.log &
PIDS+=($!)
wait_port $pp || { echo "FAIL oci-progress-setup: no proxy"; exit 1; }
ref=127.0.0.1:$pp/p:v1

# check MODE OUTPUT: verdict lines for the output of one pull
check_output() {
	python3 - "$1" "$2" $T/manifest.json "$ref" <<'EOP'
import json, re, sys
mode, path, manifest, ref = sys.argv[1:5]
raw = open(path, "rb").read().decode("utf-8", "replace")
layers = json.load(open(manifest))["layers"]
fails = []

def human(n):  # cli_human_size()
    units, v, i = ["B", "kB", "MB", "GB", "TB"], float(n), 0
    while v >= 1000 and i < 4:
        v, i = v / 1000, i + 1
    return ("%.3g%s" if i else "%.0f%s") % (v, units[i])

def need(cond, what):
    if not cond:
        fails.append(what)

text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", raw).replace("\r", "")
lines = [l.rstrip() for l in text.split("\n")]
need(re.search(r"^Digest: sha256:[0-9a-f]{64}$", text, re.M), "Digest line")
need(("Status: Downloaded newer image for " + ref) in lines, "Status line")
for i, d in enumerate(layers):
    lid = d["digest"][7:19]
    mine = [l[len(lid) + 2:] for l in lines if l.startswith(lid + ": ")]
    tot = re.escape(human(d["size"]))
    if mode == "tty":
        dl = [m for m in mine if re.match(r"Downloading +\S+/" + tot + r"( +\S+/s)?$", m)]
        need(dl, "layer %s: no 'Downloading CUR/%s' line" % (lid, human(d["size"])))
        need(mine and mine[-1] == "Pull complete", "layer %s: last state %r" % (lid, mine[-1:]))
        if i == 0:  # the big, slow one: seen part way, with a rate
            part = [m for m in dl if not re.match(r"Downloading +(0B|%s)/" % tot, m)]
            need(part, "layer %s: never shown part way: %r" % (lid, dl))
            need([m for m in dl if m.endswith("/s")], "layer %s: no rate" % lid)
    else:
        need(mine == ["Download complete", "Pull complete"],
             "layer %s: plain lines %r" % (lid, mine))
if mode == "tty":
    need("\x1b[2K" in raw, "no line erase")
    need(("\x1b[%dA" % len(layers)) in raw, "no cursor-up over %d lines" % len(layers))
else:
    need("\x1b" not in raw and "\r" not in raw, "escape or CR in plain output")
for f in fails:
    print("FAIL progress-%s: %s" % (mode, f))
if not fails:
    print("PASS progress-%s" % mode)
EOP
}

SUPERMACHINE_ROOT=$T/s1 python3 "$SM_TOP/tests/oci/ptyrun.py" $T/tty.out "$SM" pull "$ref"
rc=$?
ok progress-tty-pull '[ $rc = 0 ]'
check_output tty $T/tty.out

SUPERMACHINE_ROOT=$T/s2 "$SM" pull "$ref" >$T/plain.out 2>&1
ok progress-plain-pull '[ $? = 0 ]'
check_output plain $T/plain.out

# again: nothing new, docker's words for it
out=$(SUPERMACHINE_ROOT=$T/s2 "$SM" pull "$ref" 2>&1); rc=$?
ok progress-up-to-date '[ $rc = 0 ] && echo "$out" | grep -qx "Status: Image is up to date for $ref"'

SUPERMACHINE_ROOT=$T/s3 python3 "$SM_TOP/tests/oci/ptyrun.py" $T/quiet.out "$SM" pull -q "$ref"
rc=$?
ok progress-quiet-tty '[ $rc = 0 ] && [ "$(tr -d "\r" <$T/quiet.out)" = "$ref" ]'
[ "${VERBOSE:-}" ] && { cat -v $T/tty.out; cat $T/plain.out; }
finish
