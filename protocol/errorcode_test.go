package protocol

import (
	"encoding/json"
	"testing"
)

func TestErrorCodeMessage(t *testing.T) {
	for _, tt := range []struct {
		code ErrorCode
		n    int
		msg  string
	}{
		{CodeUnknownTransport, 0, "Transport unknown"},
		{CodeUnknownSID, 1, "Session ID unknown"},
		{CodeBadHandshakeMethod, 2, "Bad handshake method"},
		{CodeBadRequest, 3, "Bad request"},
		{CodeForbidden, 4, "Forbidden"},
		{CodeUnsupportedProtocolVersion, 5, "Unsupported protocol version"},
		{ErrorCode(6), 6, "Unknown error"},
		{ErrorCode(-1), -1, "Unknown error"},
	} {
		if int(tt.code) != tt.n {
			t.Errorf("code %v = %d, want %d", tt.msg, int(tt.code), tt.n)
		}
		if got := tt.code.Message(); got != tt.msg {
			t.Errorf("ErrorCode(%d).Message() = %q, want %q", tt.n, got, tt.msg)
		}
	}
}

// Checklist items 5 to 9.
func TestAppendErrorJSON(t *testing.T) {
	for _, tt := range []struct {
		code ErrorCode
		msg  string
		want string
	}{
		{CodeUnsupportedProtocolVersion, "", `{"code":5,"message":"Unsupported protocol version"}`},
		{CodeUnknownTransport, "", `{"code":0,"message":"Transport unknown"}`},
		{CodeBadHandshakeMethod, "", `{"code":2,"message":"Bad handshake method"}`},
		{CodeUnknownSID, "", `{"code":1,"message":"Session ID unknown"}`},
		{CodeForbidden, "", `{"code":4,"message":"Forbidden"}`},
		{CodeForbidden, `not "you"`, `{"code":4,"message":"not \"you\""}`},
		{CodeForbidden, "<b>\tbye</b>", `{"code":4,"message":"\u003cb\u003e\tbye\u003c/b\u003e"}`},
	} {
		got := AppendErrorJSON(nil, tt.code, tt.msg)
		if string(got) != tt.want {
			t.Errorf("AppendErrorJSON(%d, %q) = %s, want %s", tt.code, tt.msg, got, tt.want)
		}
		var v struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(got, &v); err != nil {
			t.Errorf("AppendErrorJSON(%d, %q) is not JSON: %v", tt.code, tt.msg, err)
		}
	}
}
