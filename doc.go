// Package engineio is an Engine.IO server (protocol revision 4, the
// transport under Socket.IO) for net/http, built on the actor model: every
// session is a supervised protoactor-go actor.
//
// A Server is an http.Handler for the engine path (/engine.io/ by default).
// Clients connect over HTTP long-polling or WebSocket, upgrade from one to
// the other, keep a heartbeat and exchange text and binary messages:
//
//	srv, err := engineio.NewServer()
//	if err != nil { ... }
//	srv.OnMessage(func(s *engineio.Session, msg engineio.Message) {
//		if msg.Binary {
//			s.SendBinary(msg.Data)
//		} else {
//			s.Send(msg.Text())
//		}
//	})
//	http.Handle("/engine.io/", srv)
//
// The handlers of one session run one at a time, in order, inside that
// session's actor; a slow handler delays its own session and no other.
// Send, Disconnect and the other methods may be called from any goroutine.
//
// Sessions are actors: PID returns a session's *actor.PID, and
// WithActorSystem runs the server in an existing actor system.
package engineio
