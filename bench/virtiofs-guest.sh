# The benchmark's guest side (busybox sh), copied to the top of the shared
# tree and run from there: sh /mnt/guest.sh RUNS
# Each run starts with cold caches; it prints "BEGIN workload run" and,
# once done, "RESULT workload run seconds" (the guest's clock; the host
# also times the two lines as they reach the console). busybox date has
# no %N: adjtimex shows the clock in microseconds.
now() {
	adjtimex | awk '/tv_sec/ { s = $2 } /tv_usec/ { u = $2 }
		END { printf "%d.%06d\n", s, u }'
}

cold() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# timed NAME RUN CMD...: runs CMD with cold caches, prints its time.
timed() {
	name=$1 run=$2
	shift 2
	cold
	echo "BEGIN $name $run"
	a=$(now)
	"$@" || echo "FAILED $name: $*"
	b=$(now)
	echo "RESULT $name $run $(echo "$b $a" | awk '{ printf "%.6f", $1 - $2 }')"
}

seqread() { cat /mnt/big >/dev/null; }
findall() { echo "COUNT find $(find /mnt/tree | wc -l)"; }
smallcat() { (cd /mnt/tree && xargs cat </mnt/small.list >/dev/null); }

echo "MOUNTED"
runs=${1:-1}
r=1
while [ "$r" -le "$runs" ]; do
	timed seqread "$r" seqread
	timed find "$r" findall
	timed smallcat "$r" smallcat
	r=$((r + 1))
done
echo "COUNT small $(wc -l </mnt/small.list)"
echo "SIZE big $(stat -c %s /mnt/big)"
