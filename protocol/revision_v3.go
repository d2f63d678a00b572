package protocol

// Revision is an Engine.IO protocol revision, the value of the EIO query
// parameter. The unsuffixed names of this package implement [V4]; the
// V3-suffixed ones implement [V3].
type Revision uint8

// The protocol revisions this package implements.
const (
	V3 Revision = 3 // Engine.IO 3 (Socket.IO 2 clients): length-prefixed payloads, JSONP
	V4 Revision = 4 // Engine.IO 4 (Socket.IO 3 and later): separator-joined payloads
)

// ParseRevision parses the EIO query parameter. It accepts exactly "3" and
// "4"; anything else, including "", "03", " 4" and "4.0", reports false, so
// that a server answers error 5 (unsupported protocol version) rather than
// guessing. (The JavaScript server treats every value other than "4" as 3.)
func ParseRevision(s string) (Revision, bool) {
	switch s {
	case "3":
		return V3, true
	case "4":
		return V4, true
	}
	return 0, false
}
