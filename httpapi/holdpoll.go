package httpapi

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eioactor/engineio/actors"
	"github.com/eioactor/engineio/internal/netpoll"
	"github.com/eioactor/engineio/internal/pack"
	"github.com/eioactor/engineio/internal/reply"
	"github.com/eioactor/engineio/internal/timers"
	"github.com/eioactor/engineio/protocol"
)

// A long-poll GET of a quiet session waits for the session's next packet,
// usually its next ping, a whole ping interval. net/http holds the
// connection's goroutine, its buffers and the request meanwhile: some
// 25 KB per idle polling client. Such a poll is therefore held without
// them: the handler takes the connection from net/http (Hijack), parks it
// with the poller to hear of the client going away, moves the poll's
// replies from its inbox to a callback (reply.Router.Detach), and returns.
// The answer is written on the connection by hand. net/http cannot take
// the connection back: when every request on it would reach this handler
// anyway (the handler serves the http.Server directly), the handler keeps
// the connection and reads the client's next requests itself (see
// keptConn); otherwise the answer says "Connection: close", and the
// client's next request comes on a new connection.
//
// A poll is held when its session says it is quiet (actors.PollWaiting:
// no message went out in its last answered poll), or after PollHoldAfter.
// The polls of a busy session, answered sooner, keep their connections.

// PollHoldAfter is how long the long-poll of a busy session (see
// actors.PollWaiting) waits for its answer on net/http's goroutine before
// it is held without it; a quiet session's poll is held at once.
var PollHoldAfter = time.Second

// Held poll states.
const (
	holding   int32 = iota // waiting for the session's answer
	answering              // the answer (or a timeout) is being written
	abandoned              // the client went away first
)

// heldPoll is a long-poll whose connection the handler took from net/http.
type heldPoll struct {
	h     *Handler
	sess  *actor.PID // the session's
	id    uint64     // the poll's ID, under which the router hands replies to answer
	conn  net.Conn
	kc    *keptConn     // the connection is kept after the answer; nil: it closes
	idle  *netpoll.Conn // nil: a goroutine watches the connection instead
	timer timers.Timer  // the reply timeout

	// What the response needs of the request.
	header http.Header // set so far: CORS, the Headers hook; nil if none
	jsonp  string

	state  atomic.Int32
	accept uint8 // the coding negotiated from Accept-Encoding: its index in codings
}

// codings are the codings negotiateEncoding picks. A held poll keeps the
// index of its own: a byte beside its state instead of a string, which
// puts it in the 128-byte size class.
var codings = [...]string{"", "gzip", "deflate"}

func codingIndex(enc string) uint8 {
	for i, c := range codings {
		if c == enc {
			return uint8(i)
		}
	}
	return 0
}

// hold takes the connection of req, a holdable request (see holdable),
// from net/http, or from the kept connection's reader it came from, and
// holds the poll, whose reply ib awaits, without a goroutine, for up to
// timeout more (no limit when <= 0). It reports false when the
// ResponseWriter cannot be hijacked (a middleware's wrapper without
// Hijack, say) or a pipelined request is buffered behind the poll on a
// kept connection; the caller then waits as before.
func (h *Handler) hold(req *request, sess Session, ib *reply.Inbox, timeout time.Duration) bool {
	poller := h.idlePoller()
	var (
		conn net.Conn
		kc   *keptConn
	)
	if kw, ok := req.w.(*keptResponse); ok {
		// The handler reads this connection itself already.
		if !kw.release() {
			return false // a pipelined request is buffered
		}
		kc, conn = kw.kc, kw.kc.conn
	} else {
		c, brw, err := http.NewResponseController(req.w).Hijack()
		if err != nil {
			return false
		}
		conn = unwrapReplay(c)
		// A client that sent more after its GET (a pipelined request)
		// has it in brw, not in the socket: its connection is not kept,
		// and what it sent is lost with it.
		if brw.Reader.Buffered() == 0 {
			kc = h.keep(req.r, conn)
		}
	}
	// The held poll keeps a copy of the response header set so far, nil if
	// there is none (the answer is written in a response of answers, with
	// a map of its own; an empty map would cost a held poll 48 bytes): a
	// kept connection's next response reuses the map
	// (requestScratch), and the values set from the request (CORS's
	// origin, say), like the JSONP index, share the memory of the
	// request's whole header when the connection's reader read it
	// (readSimpleRequest).
	header := packedHeader(req.w.Header())
	jsonp := strings.Clone(req.jsonp)
	// The coding is negotiated now: "gzip", "deflate" or "", which
	// negotiate to themselves again when the answer is written. The
	// header's own value would keep the request's memory as long as the
	// poll is held.
	var accept uint8
	if h.cfg.Compression.Enabled {
		accept = codingIndex(negotiateEncoding(req.r.Header.Get("Accept-Encoding")))
	}
	hp := &heldPoll{h: h, sess: sess.PID, id: ib.ID(), conn: conn, kc: kc, header: header, jsonp: jsonp, accept: accept}
	h.held.Add(1)
	if timeout > 0 {
		hp.timer.Start(timeout, hp)
	}
	switch {
	case kc != nil:
		hp.idle = kc.idle
		kc.hold(hp)
	default:
		// A connection that is not kept is watched only for the client
		// going away, and closes after the answer.
		hp.idle = poller.Register(conn, hp)
		if hp.idle == nil || !hp.idle.Park(false) {
			go hp.watch()
		}
	}
	h.polls.Detach(ib, hp.answer)
	return true
}

// holdable reports whether the poll req could be held: an HTTP/1 request,
// where the poller runs. Over TLS, only on a connection that is kept after
// the answer: one that closed would cost the client a new TLS handshake per
// poll.
func (h *Handler) holdable(req *request) bool {
	if req.r.ProtoMajor != 1 || h.idlePoller() == nil {
		return false
	}
	if req.r.TLS == nil {
		return true
	}
	if _, kept := req.w.(*keptResponse); kept {
		return true
	}
	return h.keepable(req.r)
}

// HeldPolls returns how many long-polls are held now without a goroutine
// of net/http's (see hold).
func (h *Handler) HeldPolls() int { return int(h.held.Load()) }

// Resume makes the held poll its connection's netpoll.Reader: the poller
// runs watch when the parked connection becomes readable or closes.
func (hp *heldPoll) Resume() { hp.watch() }

// Await is never called: the connection is parked with Park, which does not
// wait for data, and never with Wait or ParkTLS.
func (hp *heldPoll) Await() error { return nil }

// Release has nothing to release: a held poll keeps no buffers.
func (hp *heldPoll) Release() {}

// watch runs when the held connection becomes readable or closes (on a
// goroutine of its own when it could not be parked). A client that closes
// its connection abandons the poll, which closes the session as a
// transport error, as when net/http cancels a waiting request.
func (hp *heldPoll) watch() {
	var b [1]byte
	n, err := hp.conn.Read(b[:])
	if hp.idle != nil {
		hp.idle.Unregister()
	}
	if n > 0 || err == nil {
		// The client sent more while its poll waits: it is not watched
		// any longer, and the answer still closes the connection.
		return
	}
	hp.abandon()
}

// abandon ends the poll of a client that went away, unless it was answered
// first; it reports whether it did.
func (hp *heldPoll) abandon() bool {
	if !hp.state.CompareAndSwap(holding, abandoned) {
		return false // answered: this is the connection closing after it
	}
	hp.stopTimer()
	hp.h.polls.Drop(hp.id)
	hp.h.sys.Root.Send(hp.sess, &actors.PollAbandoned{ReplyTo: hp.h.polls.PID(), Poll: hp.id})
	hp.close()
	return true
}

// answer receives the session's replies, on the sender's goroutine; the
// first that answers the poll is written.
func (hp *heldPoll) answer(msg any) {
	if _, notice := msg.(*actors.PollWaiting); notice {
		// It came after the poll was held for waiting long: the answer
		// is still to come.
		return
	}
	if hp.state.CompareAndSwap(holding, answering) {
		go hp.respond(msg)
	}
}

// Expire implements timers.Expirer: the reply timeout has passed. The
// answer is written on a goroutine of its own, not the timers'.
func (hp *heldPoll) Expire() { go hp.expire() }

// expire ends a poll that got no answer in the reply timeout.
func (hp *heldPoll) expire() {
	if !hp.state.CompareAndSwap(holding, answering) {
		return
	}
	hp.h.cfg.Logger.Warn("engineio: held poll timed out")
	hp.h.polls.Drop(hp.id)
	hp.h.sys.Root.Send(hp.sess, &actors.PollAbandoned{ReplyTo: hp.h.polls.PID(), Poll: hp.id})
	rw := hp.response()
	hp.h.writeError(rw, nil, http.StatusServiceUnavailable, protocol.CodeBadRequest, protocol.CodeBadRequest.Message(), false)
	hp.finish(rw)
	putAnswer(rw)
}

// respond writes the session's answer and closes the connection.
func (hp *heldPoll) respond(msg any) {
	hp.stopTimer()
	hp.h.polls.Drop(hp.id)
	rw := hp.response()
	hp.h.writeReply(&request{w: rw, jsonp: hp.jsonp, accept: codings[hp.accept]}, msg)
	hp.finish(rw)
	putAnswer(rw)
}

// response returns a response from answers with the header set so far for
// the poll.
func (hp *heldPoll) response() *bufferedResponse {
	rw := answers.Get().(*bufferedResponse)
	for k, vs := range hp.header {
		rw.header[k] = vs
	}
	return rw
}

// answers hold the responses that held polls are answered in. An answer
// is written before finish returns and nothing keeps it, so its header map
// and body keep their room for the next: a heartbeat's ping to every idle
// polling session would otherwise make a map for each.
var answers = sync.Pool{New: func() any { return &bufferedResponse{header: make(http.Header, 4)} }}

// putAnswer puts rw back into answers.
func putAnswer(rw *bufferedResponse) {
	rw.reset()
	answers.Put(rw)
}

func (hp *heldPoll) finish(rw *bufferedResponse) {
	// No longer held once the client can see the answer, which ends the
	// connection at once when it is not kept (WriteLast).
	hp.h.held.Add(-1)
	if hp.kc != nil {
		hp.kc.answered(hp, rw)
		return
	}
	if hp.h.cfg.WriteTimeout > 0 {
		_ = hp.conn.SetWriteDeadline(time.Now().Add(hp.h.cfg.WriteTimeout))
	}
	var w io.Writer = hp.conn
	if hp.idle != nil {
		w = lastWrite{hp.idle} // the connection closes after it
	}
	_, _ = rw.WriteTo(w)
	hp.closeConn()
}

// close gives up the poll and its connection.
func (hp *heldPoll) close() {
	hp.h.held.Add(-1)
	hp.closeConn()
}

func (hp *heldPoll) closeConn() {
	if hp.kc != nil {
		hp.kc.close()
		return
	}
	if hp.idle != nil {
		_ = hp.idle.Close() // resumes a parked watch, which finds the poll answered
		return
	}
	_ = hp.conn.Close()
}

func (hp *heldPoll) stopTimer() { hp.timer.Stop() }

// bufferedResponse is the http.ResponseWriter of a held poll: it keeps the
// response, which WriteTo writes as HTTP/1.1, with "Connection: close"
// unless keep is set.
type bufferedResponse struct {
	header http.Header
	status int
	body   []byte
	keep   bool // the connection stays open after the response
	head   bool // the response to a HEAD request: no body
}

// reset forgets the response, keeping the room of its header map and of
// a body up to maxKeptBody.
func (b *bufferedResponse) reset() {
	clear(b.header)
	body := b.body[:0]
	if cap(body) > maxKeptBody {
		body = nil
	}
	*b = bufferedResponse{header: b.header, body: body}
}

// Header implements http.ResponseWriter.
func (b *bufferedResponse) Header() http.Header { return b.header }

// WriteHeader implements http.ResponseWriter.
func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

// Write implements http.ResponseWriter.
func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	b.body = append(b.body, p...)
	return len(p), nil
}

// WriteString implements io.StringWriter: io.WriteString then copies no
// string into a slice first.
func (b *bufferedResponse) WriteString(s string) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	b.body = append(b.body, s...)
	return len(s), nil
}

// WriteTo writes the whole response to w in one write. It adds
// Content-Length, Date (unless set) and, unless keep, "Connection: close";
// header values have their line breaks replaced by spaces, and fields with
// invalid names are left out, as net/http does.
func (b *bufferedResponse) WriteTo(w io.Writer) (int64, error) {
	status := b.status
	if status == 0 {
		status = http.StatusOK
	}
	bp := responseBuffers.Get().(*[]byte)
	p := append((*bp)[:0], "HTTP/1.1 "...)
	p = strconv.AppendInt(p, int64(status), 10)
	p = append(p, ' ')
	p = append(p, http.StatusText(status)...)
	p = append(p, "\r\n"...)
	_, hasDate := b.header["Date"]
	for k, vs := range b.header {
		if k == "Content-Length" || (k == "Connection" && !b.keep) || !validFieldName(k) {
			continue
		}
		for _, v := range vs {
			p = append(p, k...)
			p = append(p, ": "...)
			p = appendFieldValue(p, v)
			p = append(p, "\r\n"...)
		}
	}
	p = append(p, "Content-Length: "...)
	p = strconv.AppendInt(p, int64(len(b.body)), 10)
	p = append(p, "\r\n"...)
	if !b.keep {
		p = append(p, "Connection: close\r\n"...)
	}
	if !hasDate {
		p = append(p, "Date: "...)
		p = appendDate(p, time.Now())
		p = append(p, "\r\n"...)
	}
	p = append(p, "\r\n"...)
	if !b.head {
		p = append(p, b.body...)
	}
	n, err := w.Write(p)
	if cap(p) <= maxPooledResponse {
		*bp = p
		responseBuffers.Put(bp)
	}
	return int64(n), err
}

// date is the Date header's value for one second, formatted once.
type date struct {
	unix int64
	text []byte
}

// lastDate is the value last formatted; every response in a second
// shares it.
var lastDate atomic.Pointer[date]

// appendDate appends now in the Date header's format (http.TimeFormat).
func appendDate(p []byte, now time.Time) []byte {
	unix := now.Unix()
	if d := lastDate.Load(); d != nil && d.unix == unix {
		return append(p, d.text...)
	}
	d := &date{unix: unix, text: now.UTC().AppendFormat(make([]byte, 0, len(http.TimeFormat)), http.TimeFormat)}
	lastDate.Store(d)
	return append(p, d.text...)
}

// responseBuffers hold responses being written; larger ones are not kept.
var responseBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const maxPooledResponse = 64 << 10

// validFieldName reports whether k is an HTTP token (RFC 9110, 5.6.2).
func validFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c >= 0x80 || !tokenChars[c] {
			return false
		}
	}
	return true
}

// tokenChars tells the characters of an HTTP token: visible ASCII but the
// delimiters.
var tokenChars = func() (t [0x80]bool) {
	for c := byte('!'); c < 0x7f; c++ {
		t[c] = !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, rune(c))
	}
	return t
}()

// appendFieldValue appends v with its line breaks as spaces, and without
// the spaces around it.
func appendFieldValue(p []byte, v string) []byte {
	v = strings.TrimSpace(v)
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		p = append(p, c)
	}
	return p
}

// packedHeader returns a copy of h whose values are new slices over one
// string, or nil if h has no value. The slices are new because a Headers
// hook may have set one it shares with other responses.
func packedHeader(h http.Header) http.Header {
	count := 0
	for _, vs := range h {
		count += len(vs)
	}
	if count == 0 {
		return nil
	}
	all := make([]string, 0, count)
	packed := make(http.Header, len(h))
	for k, vs := range h {
		start := len(all)
		all = append(all, vs...)
		packed[k] = all[start:len(all):len(all)]
	}
	pack.Strings(all)
	return packed
}
