package protocol

import (
	"strconv"
	"time"
)

// Handshake is the content of the open packet that starts every session.
type Handshake struct {
	// SID is the session id the client must send back as the sid query
	// parameter. It is JSON-escaped, so any string is safe.
	SID string
	// Upgrades lists the transports the client may upgrade to:
	// ["websocket"] for a polling handshake with upgrades allowed, and
	// nil or empty otherwise (written as [], never null).
	Upgrades []string
	// PingInterval and PingTimeout drive the heartbeat. They are written
	// in whole milliseconds, truncated, so sub-second values are allowed
	// but anything below a millisecond is lost.
	PingInterval, PingTimeout time.Duration
	// MaxPayload is the largest payload, in bytes, the server accepts.
	MaxPayload int64
}

// AppendOpen appends the revision 4 open packet for h to dst: '0' followed by
// a JSON object with exactly the keys sid, upgrades, pingInterval,
// pingTimeout and maxPayload, in that order. The same bytes serve as a
// polling payload of one packet and as a WebSocket text frame.
//
// The object is written by hand rather than with encoding/json, because the
// official test suite rejects any extra key and because this runs on every
// handshake; strings are escaped exactly as encoding/json escapes them.
func AppendOpen(dst []byte, h Handshake) []byte {
	dst = appendOpenStart(dst, h)
	dst = append(dst, `,"maxPayload":`...)
	dst = strconv.AppendInt(dst, h.MaxPayload, 10)
	return append(dst, '}')
}

// appendOpenStart appends what the open packets of both revisions start
// with: '0' and the object's keys up to pingTimeout, without its closing
// brace.
func appendOpenStart(dst []byte, h Handshake) []byte {
	dst = append(dst, '0')
	dst = append(dst, `{"sid":`...)
	dst = appendJSONString(dst, h.SID)
	dst = append(dst, `,"upgrades":[`...)
	for i, u := range h.Upgrades {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, u)
	}
	dst = append(dst, `],"pingInterval":`...)
	dst = strconv.AppendInt(dst, h.PingInterval.Milliseconds(), 10)
	dst = append(dst, `,"pingTimeout":`...)
	return strconv.AppendInt(dst, h.PingTimeout.Milliseconds(), 10)
}
