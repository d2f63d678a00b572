// Package pack copies strings that would keep a larger block of memory
// alive (substrings of a request's header, say) into one string of their
// own.
package pack

import "strings"

// Strings replaces the strings of ss with copies that share one new
// string: one allocation for them all.
func Strings(ss []string) {
	n := 0
	for _, s := range ss {
		n += len(s)
	}
	var b strings.Builder
	b.Grow(n)
	for i, s := range ss {
		off := b.Len()
		b.WriteString(s)
		ss[i] = b.String()[off:]
	}
}
