// Command perfsplit splits a Go program's user-space CPU samples by what
// they were doing, from `perf script` output: each sample goes to the
// package of the function it was in (its leaf frame), and the runtime's
// samples further to allocation and collection, stack growth, system call
// entry and exit, maps and hashing, memmove, and the rest (the scheduler,
// goroutines, the network poller, locks). A leaf tells what a sample did,
// not why: "stack growth" also holds the stack walks of the collector's
// stack scans, which use the same unwinder; a call graph (perf report -g)
// tells them apart. bench/kernel.sh runs it on the
// Go servers' samples.
//
//	perf script -i perf.data -F comm,ip,sym,dso | perfsplit -dso echo
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

func main() {
	dso := flag.String("dso", "", "base name of the binary whose samples are counted (its user space)")
	flag.Parse()
	if *dso == "" {
		fmt.Fprintln(os.Stderr, "perfsplit: -dso is needed")
		os.Exit(2)
	}
	s, err := split(os.Stdin, *dso)
	if err != nil {
		fmt.Fprintln(os.Stderr, "perfsplit:", err)
		os.Exit(1)
	}
	s.print(os.Stdout)
}

// shares counts samples per category.
type shares struct {
	total int            // every sample in the input
	user  int            // those whose leaf frame is in the binary
	by    map[string]int // user-space samples per category
}

// split reads `perf script -F comm,ip,sym,dso` output: samples separated
// by blank lines, a header line, then one frame per line, leaf first, as
// "<ip> <symbol> (<dso>)".
func split(r io.Reader, dso string) (*shares, error) {
	s := &shares{by: map[string]int{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	state := 0 // 0: before a sample, 1: header read, 2: leaf read
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			state = 0
			continue
		}
		switch state {
		case 0:
			s.total++
			state = 1
		case 1:
			state = 2
			sym, lib, ok := frame(line)
			if !ok || (lib != dso && !strings.HasSuffix(lib, "/"+dso)) {
				continue
			}
			s.user++
			s.by[category(sym)]++
		}
	}
	return s, sc.Err()
}

// frame parses "<ip> <symbol> (<dso>)"; symbols may hold spaces and
// parentheses, the dso is the last parenthesised part.
func frame(line string) (sym, dso string, ok bool) {
	line = strings.TrimSpace(line)
	open := strings.LastIndex(line, " (")
	if open < 0 || !strings.HasSuffix(line, ")") {
		return "", "", false
	}
	dso = line[open+2 : len(line)-1]
	ip, sym, ok := strings.Cut(line[:open], " ")
	if !ok || ip == "" {
		return "", "", false
	}
	return sym, dso, true
}

var (
	allocation  = regexp.MustCompile(`malloc|^runtime\.gc|sweep|scan|mark|memclr|heapBits|mspan|mcache|mcentral|mheap|wbBuf|findObject|greyobject|tryDeferToSpan|newobject|makeslice|growslice|nextFree|refill|spanSet|pageAlloc|[Ww]riteBarrier|bulkBarrier|typePointers|spanOf`)
	stackGrowth = regexp.MustCompile(`newstack|copystack|shrinkstack|adjust|pcvalue|pcdatavalue|findfunc|\.step$|unwinder|getStackMap|funcMaxSPDelta|morestack|stackalloc|stackfree|stkframe|readvarint`)
	maps        = regexp.MustCompile(`maps|mapaccess|mapassign|mapdelete|aeshash|memhash|strhash|memeq|cmpbody|indexbyte`)
	ourPackage  = regexp.MustCompile(`^github\.com/eioactor/engineio(/[a-z/]+)?\.`)
)

// category names what a sample in function sym was doing.
func category(sym string) string {
	switch {
	case strings.HasPrefix(sym, "syscall.") || strings.HasPrefix(sym, "internal/runtime/syscall"):
		return "system call entry and exit"
	case strings.HasPrefix(sym, "runtime.") || strings.HasPrefix(sym, "internal/runtime/") ||
		!strings.Contains(sym, "."): // the runtime's assembly: memeqbody, gcWriteBarrier2, ...
		switch {
		case strings.Contains(sym, "yscall"):
			return "system call entry and exit"
		case stackGrowth.MatchString(sym):
			return "runtime: stack growth"
		case allocation.MatchString(sym) || strings.HasPrefix(sym, "expandAVX512") || strings.HasPrefix(sym, "gcWriteBarrier"):
			return "runtime: allocation and collection"
		case maps.MatchString(sym):
			return "runtime: maps, hashing, comparing"
		case strings.Contains(sym, "memmove"):
			return "runtime: memmove"
		}
		return "runtime: scheduler, goroutines, poller, locks, other"
	case ourPackage.MatchString(sym):
		pkg := strings.TrimSuffix(ourPackage.FindString(sym), ".")
		pkg = strings.TrimPrefix(strings.TrimPrefix(pkg, "github.com/eioactor/engineio"), "/")
		if pkg == "" {
			pkg = "engineio"
		}
		return "ours: " + pkg
	case strings.HasPrefix(sym, "main."):
		return "main"
	}
	// A package path's last element ends at the first dot after the last
	// slash: github.com/gorilla/websocket.(*Conn).advanceFrame.
	slash := strings.LastIndex(sym, "/")
	dot := strings.Index(sym[slash+1:], ".")
	if dot < 0 {
		return "other"
	}
	return sym[:slash+1+dot]
}

func (s *shares) print(w io.Writer) {
	fmt.Fprintf(w, "%d samples, %d of them in the binary's user space (%.1f%%)\n\n", s.total, s.user, pct(s.user, s.total))
	fmt.Fprintln(w, "| in | share of user space % |")
	fmt.Fprintln(w, "|---|---:|")
	keys := make([]string, 0, len(s.by))
	for k := range s.by {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if s.by[keys[i]] != s.by[keys[j]] {
			return s.by[keys[i]] > s.by[keys[j]]
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		if p := pct(s.by[k], s.user); p >= 0.5 {
			fmt.Fprintf(w, "| %s | %.1f |\n", k, p)
		}
	}
}

func pct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}
