package engineio_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eioactor/engineio"
	"github.com/eioactor/engineio/actors"
	"github.com/eioactor/engineio/protocol"
)

// An echo server: every message goes back to its sender.
func Example() {
	srv, err := engineio.NewServer(engineio.WithPingInterval(10 * time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close(context.Background())
	srv.OnConnect(func(s *engineio.Session) error {
		if s.Query().Get("token") == "" {
			return errors.New("token required") // 403 with this message
		}
		return nil
	})
	srv.OnMessage(func(s *engineio.Session, msg engineio.Message) {
		if msg.Binary {
			_ = s.SendBinary(msg.Data)
			return
		}
		_ = s.Send(msg.Text())
	})
	srv.OnDisconnect(func(s *engineio.Session, reason engineio.Reason) {
		log.Printf("%s left: %s", s.ID(), reason)
	})
	http.Handle("/engine.io/", srv)
	// http.ListenAndServe(":3000", nil)
}

// Sending to a session from outside its handlers, by sid.
func ExampleServer_Send() {
	srv, _ := engineio.NewServer()
	defer srv.Close(context.Background())
	err := srv.Send("no-such-sid", "hello")
	fmt.Println(errors.Is(err, engineio.ErrUnknownSession))
	// Output: true
}

// Every session is an actor: any actor of the same system can send it the
// messages of package actors.
func ExampleServer_PID() {
	sys := actor.NewActorSystem()
	srv, _ := engineio.NewServer(engineio.WithActorSystem(sys))
	defer srv.Close(context.Background())
	srv.OnConnect(func(s *engineio.Session) error {
		// s.PID() is the session's address; a user actor would do the same
		// with ctx.Send.
		sys.Root.Send(s.PID(), &actors.Send{Packet: protocol.TextMessage("welcome")})
		return nil
	})
}
