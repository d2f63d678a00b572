package engineio_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
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

// A port that serves the engine only: the server accepts the connections
// and reads their requests itself, within the given http.Server's limits.
func ExampleServer_Serve() {
	srv, err := engineio.NewServer(engineio.WithHTTPServer(&http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}))
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // or srv.ListenAndServe(":3000")
	if err != nil {
		log.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	resp, err := http.Get("http://" + ln.Addr().String() + "/engine.io/?EIO=4&transport=polling")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.HasPrefix(string(body), `0{"sid":`))

	// The open session waits for its client's next poll to carry the close
	// packet, until ctx ends; then Serve returns.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_ = srv.Close(ctx)
	fmt.Println(errors.Is(<-served, http.ErrServerClosed))
	// Output:
	// 200 true
	// true
}

// The application's pages beside the engine, on one listener: the
// http.Server's Handler serves the other paths.
func ExampleWithHTTPServer() {
	app := http.NewServeMux()
	app.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "<!doctype html><script src=\"/engine.io.js\"></script>")
	})
	srv, err := engineio.NewServer(engineio.WithHTTPServer(&http.Server{
		Handler:           app,
		ReadHeaderTimeout: 5 * time.Second,
	}))
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // or srv.ListenAndServe(":3000")
	if err != nil {
		log.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	for _, path := range []string{"/", "/engine.io/?EIO=4&transport=polling", "/missing"} {
		resp, err := http.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(path, resp.StatusCode, string(body[:min(len(body), 8)]))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_ = srv.Close(ctx)
	fmt.Println(errors.Is(<-served, http.ErrServerClosed))
	// Output:
	// / 200 <!doctyp
	// /engine.io/?EIO=4&transport=polling 200 0{"sid":
	// /missing 404 404 page
	// true
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

// Seeing why clients are refused: polling requests for a sid the server
// does not know often mean a load balancer that is not sticky.
func ExampleServer_OnConnectionError() {
	srv, _ := engineio.NewServer()
	defer srv.Close(context.Background())
	srv.OnConnectionError(func(e engineio.ConnectionError) {
		fmt.Println(e.Status, e.Code, e.Message, e.Request.URL.Query().Get("sid"))
	})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/engine.io/?EIO=4&transport=polling&sid=elsewhere")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	// Output: 400 1 Session ID unknown elsewhere
}
