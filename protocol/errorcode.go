package protocol

import "strconv"

// ErrorCode is the code of an Engine.IO HTTP error body. The values and
// messages are those of the JavaScript reference server, which clients and
// the official test suite check.
type ErrorCode int

// The error codes.
const (
	CodeUnknownTransport           ErrorCode = 0 // transport missing, unknown or disabled (400)
	CodeUnknownSID                 ErrorCode = 1 // sid unknown or closed (400)
	CodeBadHandshakeMethod         ErrorCode = 2 // handshake not made with GET (400)
	CodeBadRequest                 ErrorCode = 3 // transport mismatch, bad upgrade, bad Origin, ... (400)
	CodeForbidden                  ErrorCode = 4 // the application refused the connection (403)
	CodeUnsupportedProtocolVersion ErrorCode = 5 // EIO missing or not supported (400)
)

var errorMessages = [...]string{
	CodeUnknownTransport:           "Transport unknown",
	CodeUnknownSID:                 "Session ID unknown",
	CodeBadHandshakeMethod:         "Bad handshake method",
	CodeBadRequest:                 "Bad request",
	CodeForbidden:                  "Forbidden",
	CodeUnsupportedProtocolVersion: "Unsupported protocol version",
}

// Message returns the standard message for c, as the reference server words
// it ("Transport unknown", ...), or "Unknown error" for a code outside 0..5.
func (c ErrorCode) Message() string {
	if c >= 0 && int(c) < len(errorMessages) {
		return errorMessages[c]
	}
	return "Unknown error"
}

// AppendErrorJSON appends the error body {"code":N,"message":"..."} to dst.
// msg is JSON-escaped, since it may carry an application's text (a refused
// handshake reports the application's reason with CodeForbidden); an empty
// msg stands for c.Message().
func AppendErrorJSON(dst []byte, c ErrorCode, msg string) []byte {
	if msg == "" {
		msg = c.Message()
	}
	dst = append(dst, `{"code":`...)
	dst = strconv.AppendInt(dst, int64(c), 10)
	dst = append(dst, `,"message":`...)
	dst = appendJSONString(dst, msg)
	return append(dst, '}')
}
