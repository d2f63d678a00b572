// Command bare is the least Engine.IO v4 echo server one can write on
// net/http and gorilla/websocket: no actors, no options, no v3, no CORS, no
// compression. It is the "bare limit" of bench/run.sh, the ceiling the
// library approaches, not a product.
//
//	go run ./bench/bare -addr 127.0.0.1:3000 -ping-interval 25000 -ping-timeout 20000 [-cert cert.pem -key key.pem]
//
// Polling (handshake, long-poll GET, POST), WebSocket-only sessions and the
// upgrade (2probe, 3probe, 5), server pings every interval, a session ends
// when a pong is missing after the timeout. Every message is sent back
// unchanged, text as text and binary as binary.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

const maxPayload = 1_000_000

type packet struct {
	data   []byte // the packet without its type digit; a message's bytes
	typ    byte   // '2' ping, '4' message, '6' noop ...
	binary bool
}

type session struct {
	srv     *server
	sid     string
	mu      sync.Mutex // guards everything below, and every write to ws
	queue   []packet   // for the next GET while polling
	wake    chan struct{}
	ws      *websocket.Conn // set once the session runs over WebSocket
	polling bool            // a GET is pending
	waiting bool            // a ping was sent and its pong has not come
	closed  bool
	timer   *time.Timer
}

type server struct {
	interval, timeout time.Duration
	mu                sync.Mutex
	sessions          map[string]*session
	up                websocket.Upgrader
}

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "address to listen on")
	interval := flag.Int("ping-interval", 25000, "ping interval in milliseconds")
	timeout := flag.Int("ping-timeout", 20000, "ping timeout in milliseconds")
	certFile := flag.String("cert", "", "serve HTTPS (and wss://) with this PEM certificate chain and -key")
	keyFile := flag.String("key", "", "the PEM private key of -cert")
	flag.Parse()
	srv := newServer(time.Duration(*interval)*time.Millisecond, time.Duration(*timeout)*time.Millisecond)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
	scheme := "http"
	if *certFile != "" {
		scheme = "https"
	}
	fmt.Printf("bare engine.io echo server listening on %s://%s/engine.io/\n", scheme, ln.Addr())
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		os.Exit(0)
	}()
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	if *certFile != "" {
		fmt.Fprintln(os.Stderr, "bare:", http.ServeTLS(ln, mux, *certFile, *keyFile))
	} else {
		fmt.Fprintln(os.Stderr, "bare:", http.Serve(ln, mux))
	}
	os.Exit(1)
}

func newServer(interval, timeout time.Duration) *server {
	return &server{
		interval: interval,
		timeout:  timeout,
		sessions: map[string]*session{},
		// Buffer sizes 0 and no pool: gorilla reuses the 4 KB buffers that
		// net/http already allocated for the connection.
		up: websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }},
	}
}

func (srv *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("EIO") != "4" || (q.Get("transport") != "polling" && q.Get("transport") != "websocket") {
		http.Error(w, `{"code":0,"message":"Transport unknown"}`, http.StatusBadRequest)
		return
	}
	sid := q.Get("sid")
	if sid == "" {
		s := srv.open()
		if q.Get("transport") == "websocket" {
			s.serveWS(w, r, false)
			return
		}
		srv.mu.Lock()
		srv.sessions[s.sid] = s
		srv.mu.Unlock()
		s.respond(w, s.openPacket())
		return
	}
	srv.mu.Lock()
	s := srv.sessions[sid]
	srv.mu.Unlock()
	switch {
	case s == nil:
		http.Error(w, `{"code":1,"message":"Session ID unknown"}`, http.StatusBadRequest)
	case q.Get("transport") == "websocket":
		s.serveWS(w, r, true)
	case r.Method == http.MethodGet:
		s.get(w, r)
	case r.Method == http.MethodPost:
		s.post(w, r)
	default:
		http.Error(w, `{"code":2,"message":"Bad handshake method"}`, http.StatusBadRequest)
	}
}

func (srv *server) open() *session {
	id := make([]byte, 15)
	_, _ = rand.Read(id)
	s := &session{srv: srv, sid: base64.RawURLEncoding.EncodeToString(id), wake: make(chan struct{}, 1)}
	s.timer = time.AfterFunc(srv.interval, s.tick)
	return s
}

func (s *session) openPacket() packet {
	return packet{typ: '0', data: fmt.Appendf(nil, `{"sid":"%s","upgrades":["websocket"],"pingInterval":%d,"pingTimeout":%d,"maxPayload":%d}`,
		s.sid, s.srv.interval.Milliseconds(), s.srv.timeout.Milliseconds(), maxPayload)}
}

// tick sends a ping every interval and closes the session when its pong
// has not come within the timeout.
func (s *session) tick() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.waiting {
		s.closeLocked()
		return
	}
	s.waiting = true
	s.timer.Reset(s.srv.timeout)
	s.sendLocked(packet{typ: '2'})
}

// sendLocked writes a packet on the WebSocket or queues it for the next GET.
func (s *session) sendLocked(p packet) {
	if s.ws != nil {
		if p.binary {
			_ = s.ws.WriteMessage(websocket.BinaryMessage, p.data)
		} else {
			_ = s.ws.WriteMessage(websocket.TextMessage, append([]byte{p.typ}, p.data...))
		}
		return
	}
	s.queue = append(s.queue, p)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// handle acts on one packet from the client (data is not reused).
func (s *session) handle(typ byte, data []byte, binary bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case binary || typ == '4':
		s.sendLocked(packet{typ: '4', data: data, binary: binary})
	case typ == '3' && s.waiting:
		s.waiting = false
		s.timer.Reset(s.srv.interval)
	case typ == '1':
		s.closeLocked()
	}
}

func (s *session) closeLocked() {
	if s.closed {
		return
	}
	s.closed = true
	s.timer.Stop()
	if s.ws != nil {
		s.ws.Close()
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	s.srv.mu.Lock()
	delete(s.srv.sessions, s.sid)
	s.srv.mu.Unlock()
}

func (s *session) respond(w http.ResponseWriter, packets ...packet) {
	var b []byte
	for i, p := range packets {
		if i > 0 {
			b = append(b, 0x1e)
		}
		if p.binary {
			b = base64.StdEncoding.AppendEncode(append(b, 'b'), p.data)
		} else {
			b = append(append(b, p.typ), p.data...)
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	_, _ = w.Write(b)
}

func (s *session) get(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.polling || s.ws != nil {
		s.closeLocked()
		s.mu.Unlock()
		http.Error(w, `{"code":3,"message":"Bad request"}`, http.StatusBadRequest)
		return
	}
	s.polling = true
	for len(s.queue) == 0 && !s.closed {
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-r.Context().Done():
			s.mu.Lock()
			s.polling = false
			s.closeLocked() // the client went away
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
	}
	packets := s.queue
	if s.closed && len(packets) == 0 {
		packets = []packet{{typ: '1'}}
	}
	s.queue, s.polling = nil, false
	s.mu.Unlock()
	s.respond(w, packets...)
}

func (s *session) post(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPayload))
	if err != nil {
		http.Error(w, `{"code":3,"message":"Bad request"}`, http.StatusBadRequest)
		return
	}
	for _, p := range bytes.Split(body, []byte{0x1e}) {
		switch {
		case len(p) == 0:
		case p[0] == 'b':
			data, err := base64.StdEncoding.AppendDecode(nil, p[1:])
			if err == nil {
				s.handle('4', data, true)
			}
		default:
			s.handle(p[0], p[1:], false)
		}
	}
	w.Header().Set("Content-Type", "text/html")
	_, _ = io.WriteString(w, "ok")
}

// serveWS runs a WebSocket: a new session's only transport, or an upgrade
// of a polling session (probe first).
func (s *session) serveWS(w http.ResponseWriter, r *http.Request, upgrade bool) {
	c, err := s.srv.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c.SetReadLimit(maxPayload)
	active := !upgrade // c is the session's transport
	defer func() {
		if active {
			s.mu.Lock()
			s.closeLocked()
			s.mu.Unlock()
		}
		c.Close()
	}()
	if active {
		s.mu.Lock()
		s.ws = c
		s.sendLocked(s.openPacket())
		s.mu.Unlock()
	}
	for {
		typ, data, err := c.ReadMessage()
		if err != nil {
			return
		}
		switch {
		case active && (typ == websocket.BinaryMessage || (len(data) > 0 && data[0] == '4')):
			s.mu.Lock()
			_ = c.WriteMessage(typ, data) // the echo is the frame itself
			s.mu.Unlock()
		case active && len(data) > 0:
			s.handle(data[0], data[1:], false)
		case typ == websocket.TextMessage && string(data) == "2probe":
			s.mu.Lock()
			_ = c.WriteMessage(websocket.TextMessage, []byte("3probe"))
			s.sendLocked(packet{typ: '6'}) // lets the pending GET return
			s.mu.Unlock()
		case typ == websocket.TextMessage && string(data) == "5":
			s.mu.Lock()
			queued := s.queue
			s.ws, s.queue, active = c, nil, true
			for _, p := range queued {
				if p.typ != '6' {
					s.sendLocked(p)
				}
			}
			s.mu.Unlock()
		default:
			return // anything else ends a probe
		}
	}
}
