package httpapi

import (
	"net/url"
	"strings"
)

// engineQuery holds the query parameters the protocol reads. They are
// taken from the raw query without building a url.Values, which costs a
// map and a slice per parameter on every poll and POST. The rules are
// url.ParseQuery's: pairs are separated by '&', a pair with a ';' or a bad
// escape is skipped, and the first value of a key wins.
type engineQuery struct {
	eio, transport, sid, j, b64 string
	hasJ                        bool
}

func parseEngineQuery(raw string) engineQuery {
	var q engineQuery
	var seen [5]bool
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, ok := unescapeQuery(k)
		if !ok {
			continue
		}
		var i int
		var dst *string
		switch k {
		case "EIO":
			i, dst = 0, &q.eio
		case "transport":
			i, dst = 1, &q.transport
		case "sid":
			i, dst = 2, &q.sid
		case "j":
			i, dst = 3, &q.j
		case "b64":
			i, dst = 4, &q.b64
		default:
			continue
		}
		v, ok = unescapeQuery(v)
		if !ok || seen[i] {
			continue
		}
		seen[i], *dst = true, v
	}
	q.hasJ = seen[3]
	return q
}

// unescapeQuery decodes s as a query component, without allocating when
// there is nothing to decode.
func unescapeQuery(s string) (string, bool) {
	if !strings.ContainsAny(s, "%+") {
		return s, true
	}
	u, err := url.QueryUnescape(s)
	return u, err == nil
}
