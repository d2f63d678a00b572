// Package engineiotest tests the handlers of an engineio.Server with no
// sockets and no sleeps.
//
// A Harness runs the server on protoactor's synchronized dispatcher, so
// every message is handled inline, before the call that sent it returns,
// and on a fake Clock, so time moves only when the test says so. A Client
// plays an Engine.IO client over long-polling or WebSocket by sending the
// session actor the messages the HTTP layer would send: the real session
// state machine, handlers, heartbeat, upgrade and outbound queue are at
// work, only the network is missing. Tests are deterministic, also under
// -race and -count=N.
//
//	func TestChat(t *testing.T) {
//		h := engineiotest.New(t, engineio.WithPingInterval(time.Second))
//		h.Server().OnMessage(func(s *engineio.Session, msg engineio.Message) {
//			if msg.Text() == "ping" {
//				s.Send("pong")
//			}
//		})
//		c := h.Connect(engineiotest.Polling)
//		c.Send("ping")
//		if got := engineiotest.Texts(c.Receive()); !slices.Equal(got, []string{"pong"}) {
//			t.Fatalf("got %q", got)
//		}
//		h.Advance(time.Second) // the server pings
//		c.Pong()
//		c.Upgrade() // on to WebSocket, through the real upgrade messages
//		c.Close()
//		if reason, closed := c.Closed(); !closed || reason != engineio.ReasonClientClose {
//			t.Fatalf("closed %v, reason %q", closed, reason)
//		}
//	}
//
// What the harness skips is the HTTP layer: request-level options (path,
// transports, CORS, cookies, the request gate, compression) are tested over
// HTTP, with net/http/httptest and a WebSocket client.
//
// Actors of the test may live in the server's actor system
// (h.Server().ActorSystem()) and talk to sessions through their PIDs
// (Client.PID, engineio.Server.PID) with the messages of package actors.
// Spawned with actor.WithDispatcher(h.Dispatcher()) they run inline too;
// on protoactor's default dispatcher they run on their own goroutines, and
// the test waits for what they report.
package engineiotest
