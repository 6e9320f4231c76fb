#!/usr/bin/env bash
# Flags and arguments in one style, docker's (issue 20; cli/flags.c,
# docs/containers.md, "Flags and arguments"), for every subcommand: an unknown
# flag is status 125 with "unknown flag: --bogus" and "See 'supermachine
# CMD --help'."; -h (--help for run and restore, whose -h is --hostname)
# prints the usage on stdout, status 0; a long flag is taken by its whole
# name only; a wrong count of arguments is status 1 with docker's
# "requires ..." words. All of it happens before anything runs: no VM.
. "$(dirname "$0")/../oci/lib.sh"
export SUPERMACHINE_RUNTIME=$T/runtime

# sm ARGS...: $out (stdout), $err (stderr), $rc
sm() {
	out=$("$SM" "$@" 2>"$T/err"); rc=$?
	err=$(cat "$T/err")
}

# the subcommands of cli/main.c's table, each with an abbreviation of one
# of its long flags (--hel for those with --help alone)
cmds="run:--deta ps:--al exec:--deta logs:--foll stop:--ti start:--att
restart:--ti kill:--sig=KILL port:--hel rm:--forc volume:--hel
attach:--no-st wait:--hel snapshot:--hel restore:--deta boot:--kern=x
pull:--plat=x images:--quie rmi:--forc load:--inp=x inspect:--hel
seccomp:--hel"
# check that the list is the table's, so a new subcommand is not missed
table=$(sed -n 's/^ *{"\([a-z]*\)", cmd_.*/\1/p' "$SM_TOP/cli/main.c" | sort | tr '\n' ' ')
listed=$(for e in $cmds; do echo "${e%%:*}"; done | sort | tr '\n' ' ')
ok every-subcommand-listed '[ -n "$table" ] && [ "$table" = "$listed" ]'

for e in $cmds "volume create:--nam=x" "volume ls:--quie" \
	"volume inspect:--hel" "volume rm:--forc" "volume prune:--forc"; do
	cmd=${e%%:*} abbrev=${e#*:} name=${cmd// /-}
	# $cmd unquoted: "volume rm" is two words
	sm $cmd --bogus x
	ok "$name-unknown-flag-125" '[ $rc = 125 ] && [ -z "$out" ] && [ "$err" = "supermachine: unknown flag: --bogus
See '"'"'supermachine $cmd --help'"'"'." ]'
	case $cmd in
	run | restore) help=--help ;;
	*) help=-h ;;
	esac
	sm $cmd $help
	ok "$name-help-on-stdout" '[ $rc = 0 ] && [ -z "$err" ] &&
		echo "$out" | head -1 | grep -q "^usage: supermachine $cmd\b"'
	sm $cmd "$abbrev" x y
	ok "$name-abbreviation-refused" '[ $rc = 125 ] && [ -z "$out" ] &&
		[ "$err" = "supermachine: unknown flag: ${abbrev%%=*}
See '"'"'supermachine $cmd --help'"'"'." ]'
done

# run and restore: -h is --hostname, as docker's run
for cmd in run restore; do
	sm $cmd -h
	ok "$cmd-h-is-hostname" '[ $rc = 125 ] && [ "$err" = "supermachine: flag needs an argument: '"'"'h'"'"' in -h
See '"'"'supermachine $cmd --help'"'"'." ]'
done

# docker's words for short flags: the whole cluster named
sm ps -az
ok short-unknown-names-cluster '[ $rc = 125 ] && [ "$err" = "supermachine: unknown shorthand flag: '"'"'z'"'"' in -az
See '"'"'supermachine ps --help'"'"'." ]'
sm ps -z -zq
ok short-unknown-first-cluster '[ $rc = 125 ] && echo "$err" | grep -qx "supermachine: unknown shorthand flag: .z. in -z"'
sm rm nosuch -fz
ok short-unknown-after-operand '[ $rc = 125 ] && echo "$err" | grep -qx "supermachine: unknown shorthand flag: .z. in -fz"'
sm logs -fn
ok short-needs-argument '[ $rc = 125 ] && echo "$err" | grep -qx "supermachine: flag needs an argument: .n. in -fn"'
sm run --name
ok long-needs-argument '[ $rc = 125 ] && echo "$err" | grep -qx "supermachine: flag needs an argument: --name"'
# an abbreviation whose value is the next word, and one of a global flag
sm run --na web img
ok abbreviation-with-value-refused '[ $rc = 125 ] && echo "$err" | grep -qx "supermachine: unknown flag: --na"'
sm --verb ps
ok global-abbreviation-refused '[ $rc = 125 ] && [ "$err" = "supermachine: unknown flag: --verb
See '"'"'supermachine --help'"'"'." ]'

# a flag that takes no value given one, as pflag's booleans
sm run --rm=true --detach=false --pull never no/such:image true
ok bool-flag-true-false '[ $rc = 125 ] && ! echo "$err" | grep -q flag && echo "$err" | grep -q "no/such:image"'
sm run --rm=yes no/such:image
ok bool-flag-bad-value '[ $rc = 125 ] && [ "$err" = "supermachine: invalid argument \"yes\" for \"--rm\" flag: want true or false
See '"'"'supermachine run --help'"'"'." ]'

# wrong counts of arguments: docker's words, status 1, nothing done
sm snapshot nosuch
ok snapshot-one-argument '[ $rc = 1 ] && [ -z "$out" ] && [ "$err" = "\"supermachine snapshot\" requires exactly 2 arguments.
See '"'"'supermachine snapshot --help'"'"'.

usage: supermachine snapshot CONTAINER DIR" ]'
sm snapshot
ok snapshot-no-argument '[ $rc = 1 ] && echo "$err" | grep -qx "\"supermachine snapshot\" requires exactly 2 arguments."'
sm run
ok run-no-image '[ $rc = 1 ] && echo "$err" | grep -qx "\"supermachine run\" requires at least 1 argument." &&
	echo "$err" | grep -q "^usage: supermachine run "'
sm exec nosuch
ok exec-no-command '[ $rc = 1 ] && echo "$err" | grep -qx "\"supermachine exec\" requires at least 2 arguments."'
sm ps nosuch
ok ps-no-arguments '[ $rc = 1 ] && [ -z "$out" ] && echo "$err" | grep -qx "\"supermachine ps\" accepts no arguments."'
sm port a 80 b
ok port-too-many '[ $rc = 1 ] && echo "$err" | grep -qx "\"supermachine port\" requires at least 1 and at most 2 arguments."'
sm volume rm
ok volume-rm-no-name '[ $rc = 1 ] && echo "$err" | grep -qx "\"supermachine volume rm\" requires at least 1 argument." &&
	echo "$err" | grep -qx "See .supermachine volume rm --help.\."'
for cmd in logs stop start restart kill rm attach wait pull images rmi load inspect; do
	case $cmd in
	logs | attach | pull) args= want="requires exactly 1 argument" ;;
	images) args="a b" want="requires at most 1 argument" ;;
	load) args=a want="accepts no arguments" ;;
	*) args= want="requires at least 1 argument" ;;
	esac
	sm $cmd $args
	ok "$cmd-argument-count-1" '[ $rc = 1 ] && [ -z "$out" ] &&
		[ "$(echo "$err" | head -2)" = "\"supermachine $cmd\" $want.
See '"'"'supermachine $cmd --help'"'"'." ] &&
		echo "$err" | grep -q "^usage: supermachine $cmd"'
done
finish
