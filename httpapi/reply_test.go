package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eioactor/engineio/actors"
)

// A request that reaches a session as it stops is answered as one for an
// unknown session: protoactor's dead letter, or the session's stop guard.
func TestReplyFromAStoppingSession(t *testing.T) {
	h := &Handler{}
	for _, answer := range []any{&actor.DeadLetterResponse{}, &actors.SessionClosed{SID: "x", Reason: actors.ReasonServerClose}} {
		rec := httptest.NewRecorder()
		h.writeReply(&request{w: rec}, answer)
		if rec.Code != http.StatusBadRequest || rec.Body.String() != `{"code":1,"message":"Session ID unknown"}` {
			t.Errorf("%T answered %d %s; want 400 Session ID unknown", answer, rec.Code, rec.Body)
		}
	}
}
