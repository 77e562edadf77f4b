# Sourced by the watch benchmarks: the median of some wall times, and the line that
# compares an unwatched and a watched set of runs.

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# print_ratio UNWATCHED_TIMES… -- WATCHED_TIMES…
print_ratio() {
    local plain=() watched=() side=plain
    for t in "$@"; do
        if [ "$t" = -- ]; then side=watched; elif [ "$side" = plain ]; then plain+=("$t"); else watched+=("$t"); fi
    done
    local mp mw
    mp=$(median "${plain[@]}")
    mw=$(median "${watched[@]}")
    echo "median unwatched: $mp s; median watched: $mw s; ratio watched/unwatched: $(echo "scale=3; $mw / $mp" | bc)"
}
