package main

// An Engine.IO v4 client over HTTP long-polling (protocol.md 1.3, 1.4, 1.6).
// It does not upgrade. Each round trip is a POST of the message followed by
// GETs until the echo comes back.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

type pollDialer struct {
	base    string // http://host/engine.io/?EIO=4&transport=polling
	cfg     *config
	idleGet bool // -idle-get
	// shared, when set, carries every session's requests over one pool of
	// keep-alive connections: with -connect-only and -upgrade, which
	// measure handshakes, not TCP connects, and with -idle-get=false,
	// which measures the sessions alone, not what connections leave
	// behind. Otherwise each session has a pool of its own, as each
	// browser has: its pong then goes on a connection of its own, not on
	// one that another client left idle.
	shared *pollClients
	// lean: the polling echo's sessions talk through an httpConn each
	// (-http lean), not net/http's client.
	lean bool
	// origin is what precedes a request target in base and the sessions'
	// URLs: scheme://host.
	origin string
}

// pollClients are the HTTP clients of one pool of connections.
type pollClients struct {
	transport *http.Transport
	client    *http.Client // with a whole-request timeout: handshakes, POSTs, echo GETs
	holding   *http.Client // without one: idle GETs that the server holds until its next ping
}

func newPollDialer(cfg *config) *pollDialer {
	u := *cfg.url
	u.RawQuery = "EIO=4&transport=polling"
	d := &pollDialer{base: u.String(), cfg: cfg, idleGet: cfg.idleGet}
	d.lean = cfg.leanHTTP && cfg.mode == "echo" && u.Scheme == "http"
	d.origin = u.Scheme + "://" + u.Host
	if cfg.mode == "connect-only" || cfg.mode == "upgrade" || (cfg.mode == "idle" && !cfg.idleGet) {
		d.shared = d.clients(max(2*cfg.clients, 2*cfg.concurrency))
	}
	return d
}

// clients makes a pool of at most conns connections.
func (d *pollDialer) clients(conns int) *pollClients {
	t := &http.Transport{
		DialContext:           dialFunc(d.cfg),
		TLSClientConfig:       tlsConfig(d.cfg),
		MaxConnsPerHost:       conns,
		MaxIdleConnsPerHost:   conns,
		MaxIdleConns:          conns,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 0, // a poll may be held by the server
		// Go would ask for gzip on its own; a browser would too, but servers
		// only compress payloads of 1 KB and more, and we want to measure
		// Engine.IO, not gzip.
		DisableCompression: true,
		ForceAttemptHTTP2:  false,
	}
	return &pollClients{
		transport: t,
		client:    &http.Client{Transport: t, Timeout: d.cfg.timeout},
		holding:   &http.Client{Transport: t},
	}
}

func (d *pollDialer) dial(ctx context.Context) (session, error) {
	p := &pollSession{d: d, pollClients: d.shared}
	if d.lean {
		// Its pollClients stay empty: get and post go through hc.
		p.hc, p.hcPost, p.pollClients = newHTTPConn(d.cfg), newHTTPConn(d.cfg), &pollClients{}
	} else if p.pollClients == nil {
		p.pollClients = d.clients(2) // a GET and a POST at a time
	}
	body, err := p.get(ctx, p.client, d.base)
	if err != nil {
		p.dropConnections()
		return nil, withKind(errConnect, fmt.Errorf("polling handshake: %w", err))
	}
	first := body
	if i := bytes.IndexByte(body, recordSeparator); i >= 0 {
		first = body[:i] // a server may append an initial message; ignore it
	}
	p.open, err = parseOpen(first)
	if err != nil {
		p.dropConnections()
		return nil, withKind(errConnect, err)
	}
	p.url = d.base + "&sid=" + url.QueryEscape(p.open.SID)
	return p, nil
}

// pollSession is used by one goroutine, but for the pong that hold sends
// aside (post, on a goroutine of its own, which awaitPong waits for).
type pollSession struct {
	d *pollDialer
	*pollClients
	// With lean, in place of pollClients: the connections of the session's
	// GETs and of its POSTs, two as engine.io-client keeps, whose POSTs go
	// beside a pending GET.
	hc, hcPost *httpConn
	open       openPacket
	url        string // base + sid

	out     []byte       // POST body
	in      bytes.Buffer // last GET body
	postIn  bytes.Buffer // last POST response body
	decoded []byte       // last binary message, decoded

	mu     sync.Mutex
	pong   *asidePong // the pong sent aside by hold, while it is out
	ending bool       // hold's time is up: no more polls
}

// asidePong is a pong's POST sent beside the next poll.
type asidePong struct {
	done chan struct{} // closed once it is answered
	err  error         // set before done is closed
}

func (p *pollSession) get(ctx context.Context, c *http.Client, u string) ([]byte, error) {
	if p.hc != nil {
		p.in.Reset()
		status, err := p.hc.do(http.MethodGet, p.target(u), nil, &p.in)
		if err != nil {
			return nil, err
		}
		if status != http.StatusOK {
			return nil, withKind(errHTTPStatus, fmt.Errorf("GET: HTTP %d %s", status, clip(p.in.Bytes())))
		}
		return p.in.Bytes(), nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	p.in.Reset()
	if _, err := p.in.ReadFrom(resp.Body); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, withKind(errHTTPStatus, fmt.Errorf("GET: HTTP %d %s", resp.StatusCode, clip(p.in.Bytes())))
	}
	return p.in.Bytes(), nil
}

func (p *pollSession) post(body []byte) error {
	status, err := p.postBody(body)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return withKind(errHTTPStatus, fmt.Errorf("POST: HTTP %d %s", status, clip(p.postIn.Bytes())))
	}
	if !bytes.Equal(p.postIn.Bytes(), []byte("ok")) {
		return protocolErrorf("POST answered %q, expected \"ok\"", clip(p.postIn.Bytes()))
	}
	return nil
}

// postBody sends a POST and reads its answer into postIn.
func (p *pollSession) postBody(body []byte) (int, error) {
	p.postIn.Reset()
	if p.hc != nil {
		return p.hcPost.do(http.MethodPost, p.target(p.url), body, &p.postIn)
	}
	req, err := http.NewRequest(http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := p.postIn.ReadFrom(resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// target returns the request target (path and query) of the URL u.
func (p *pollSession) target(u string) string {
	return strings.TrimPrefix(u, p.d.origin)
}

var pongPayload = []byte{packetPong}

// receive reads one GET payload, answers a ping in it, and returns the
// message it carried, if any. With pongAside the pong's POST goes out
// beside the next GET, as engine.io-client sends them, on a connection of
// its own; otherwise receive returns once it is answered.
func (p *pollSession) receive(ctx context.Context, c *http.Client, st *clientStats, pongAside bool) (msg []byte, binary, got bool, err error) {
	payload, err := p.get(ctx, c, p.url)
	if err != nil {
		return nil, false, false, err
	}
	pinged := false
	err = forEachPacket(payload, func(pkt []byte) error {
		switch pkt[0] {
		case packetMessage, binaryPrefix:
			if got {
				return protocolErrorf("a second message in one payload: %q", clip(pkt))
			}
			got = true
			if pkt[0] == packetMessage {
				msg = pkt[1:]
				return nil
			}
			binary = true
			decoded, derr := decodePollingBinary(p.decoded, pkt[1:])
			p.decoded, msg = decoded, decoded
			return derr
		case packetPing:
			if len(pkt) != 1 {
				return protocolErrorf("unexpected packet %q", clip(pkt))
			}
			pinged = true
			return nil
		case packetNoop:
			return nil
		case packetClose:
			return withKind(errServerClose, errors.New("server sent a close packet"))
		default:
			return protocolErrorf("unexpected packet %q", clip(pkt))
		}
	})
	if err != nil {
		return nil, false, false, err
	}
	if pinged {
		st.pings++
		if err := p.awaitPong(); err != nil {
			return nil, false, false, err
		}
		if pongAside {
			a := &asidePong{done: make(chan struct{})}
			p.mu.Lock()
			p.pong = a
			p.mu.Unlock()
			go func() {
				a.err = p.post(pongPayload)
				close(a.done)
			}()
		} else if err := p.post(pongPayload); err != nil {
			return nil, false, false, fmt.Errorf("answering ping: %w", err)
		}
	}
	return msg, binary, got, nil
}

// awaitPong waits for the answer to the pong sent aside, if one is out.
func (p *pollSession) awaitPong() error {
	p.mu.Lock()
	a := p.pong
	p.pong = nil
	p.mu.Unlock()
	if a == nil {
		return nil
	}
	<-a.done
	if a.err != nil {
		return fmt.Errorf("answering ping: %w", a.err)
	}
	return nil
}

func (p *pollSession) echo(data []byte, binary bool, st *clientStats) ([]byte, bool, error) {
	p.out = appendPollingMessage(p.out[:0], data, binary)
	if err := p.post(p.out); err != nil {
		return nil, false, err
	}
	for {
		msg, bin, got, err := p.receive(context.Background(), p.client, st, false)
		if err != nil || got {
			return msg, bin, err
		}
	}
}

// hold keeps a GET pending until the deadline, answering pings. Cancelling
// the last GET ends the session on servers that treat an aborted poll as a
// transport error, which is fine: the client is done then. But a pong sent
// beside that GET must be answered first, or it would find the session
// gone: at the deadline, a pong that is out is waited for before the GET
// is cancelled, and no GET goes out after it.
func (p *pollSession) hold(until time.Time, st *clientStats) error {
	if !p.d.idleGet {
		time.Sleep(time.Until(until))
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	end := time.AfterFunc(time.Until(until), func() {
		p.mu.Lock()
		p.ending = true
		a := p.pong
		p.mu.Unlock()
		if a != nil {
			<-a.done
		}
		cancel()
	})
	defer end.Stop()
	for {
		p.mu.Lock()
		ending := p.ending
		p.mu.Unlock()
		if ending {
			return p.awaitPong()
		}
		msg, _, got, err := p.receive(ctx, p.holding, st, true)
		if err != nil {
			if ctx.Err() != nil {
				return p.awaitPong()
			}
			return err
		}
		if got {
			return protocolErrorf("message %q while idle", clip(msg))
		}
	}
}

// close sends a close packet; the answer does not matter any more.
func (p *pollSession) close() {
	_, _ = p.postBody([]byte{packetClose})
	p.dropConnections()
}

// dropConnections closes the idle connections of a session's own pool.
func (p *pollSession) dropConnections() {
	if p.hc != nil {
		p.hc.close()
		p.hcPost.close()
		return
	}
	if p.pollClients != p.d.shared {
		p.transport.CloseIdleConnections()
	}
}
