package main

// -upgrade: a polling session moved to WebSocket the way engine.io-client
// does it (protocol.md 1.7): after the polling handshake the client keeps a
// GET pending and, at the same time, opens a WebSocket with the sid, sends
// "2probe", waits for "3probe", pauses polling (waits until the pending GET
// has come back, which the server makes happen with a noop), sends "5" and
// from then on uses the WebSocket only.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// upgradeStats is owned by one worker goroutine.
type upgradeStats struct {
	handshake *histogram // the polling handshake, before the upgrade starts
	probe     *histogram // start of the upgrade to "3probe"
	upgrade   *histogram // start of the upgrade to the first echo over WebSocket
	pings     uint64
	errors    errorCounts
}

func runUpgrade(cfg *config, pd *pollDialer, wd *wsDialer, pr *prober, res *result, errs *errorCounts) {
	churn := func(count int64, until time.Time) *upgradeStats {
		var next atomic.Int64
		workers := make([]upgradeStats, cfg.concurrency)
		var wg sync.WaitGroup
		for w := range workers {
			st := &workers[w]
			st.handshake, st.probe, st.upgrade = newHistogram(), newHistogram(), newHistogram()
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1)
					if (count > 0 && i > count) || (count == 0 && !time.Now().Before(until)) {
						return
					}
					if err := upgradeOne(cfg, pd, wd, int(i), st); err != nil {
						st.errors.add(classify(err), fmt.Sprintf("session %d", i), err)
					}
				}
			}()
		}
		wg.Wait()
		all := &upgradeStats{handshake: newHistogram(), probe: newHistogram(), upgrade: newHistogram()}
		for w := range workers {
			all.handshake.merge(workers[w].handshake)
			all.probe.merge(workers[w].probe)
			all.upgrade.merge(workers[w].upgrade)
			all.pings += workers[w].pings
			all.errors.merge(&workers[w].errors)
		}
		return all
	}
	if cfg.warmup > 0 {
		errs.merge(&churn(0, time.Now().Add(cfg.warmup)).errors)
	}
	before := pr.sample()
	st := churn(int64(cfg.clients), time.Time{})
	after := pr.sample()
	errs.merge(&st.errors)
	res.Connect = connectSummary(cfg.clients, int(st.upgrade.total), st.upgrade, before, after, pr)
	res.Connect.Handshake = st.handshake.summary()
	probe, upgrade := st.probe.summary(), st.upgrade.summary()
	res.Probe, res.Upgrade = &probe, &upgrade
	res.Pings = st.pings
	window := after.at.Sub(before.at).Seconds()
	res.WindowS = round3(window)
	res.Machine, res.Loadgen = pr.machine(before, after)
	if s := pr.server; s != nil {
		s.CPUS = res.Connect.ServerCPUS
		s.CPUUtil = round3(s.CPUS / window)
		s.RSSBeforeKB = before.server.rssKB
		s.RSSConnectedKB = after.server.rssKB
		s.RSSEndKB = after.server.rssKB
	}
}

// upgradeOne opens a polling session, upgrades it and echoes one message
// over the WebSocket. The session is closed at the end.
func upgradeOne(cfg *config, pd *pollDialer, wd *wsDialer, id int, st *upgradeStats) error {
	t := time.Now()
	s, err := pd.dial(context.Background())
	if err != nil {
		return err
	}
	st.handshake.record(time.Since(t))
	p := s.(*pollSession)
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()

	type polled struct {
		payload []byte
		err     error
	}
	pending := make(chan polled, 1)
	go func() {
		payload, err := p.get(ctx, p.client, p.url)
		pending <- polled{bytes.Clone(payload), err}
	}()

	t0 := time.Now()
	c, resp, err := wd.dialer.DialContext(ctx, wd.url+"&sid="+url.QueryEscape(p.open.SID), nil)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
			return withKind(errConnect, fmt.Errorf("websocket upgrade: HTTP %d %s", resp.StatusCode, body))
		}
		return withKind(errConnect, fmt.Errorf("websocket upgrade: %w", err))
	}
	w := &wsSession{conn: c, open: p.open, timeout: cfg.timeout}
	defer w.close()
	w.extendDeadlines(t0)
	if err := c.WriteMessage(websocket.TextMessage, []byte("2probe")); err != nil {
		return err
	}
	mt, data, err := w.read()
	if err != nil {
		return fmt.Errorf("waiting for 3probe: %w", err)
	}
	if mt != websocket.TextMessage || string(data) != "3probe" {
		return protocolErrorf("the probe was answered %q", clip(data))
	}
	st.probe.record(time.Since(t0))

	// Pause polling: the pending GET must come back before "5".
	var r polled
	select {
	case r = <-pending:
	case <-ctx.Done():
		return withKind(errTimeout, errors.New("the pending GET did not come back during the upgrade"))
	}
	if r.err != nil {
		return fmt.Errorf("the pending GET: %w", r.err)
	}
	err = forEachPacket(r.payload, func(pkt []byte) error {
		switch pkt[0] {
		case packetNoop:
			return nil
		case packetPing: // answered over the WebSocket below, as a client would after "5"
			st.pings++
			return nil
		}
		return protocolErrorf("the pending GET returned %q during the upgrade", clip(pkt))
	})
	if err != nil {
		return err
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte{'5'}); err != nil {
		return err
	}
	msg := newPayloadGen(id, cfg.size, cfg.binary).next(0)
	var cs clientStats
	got, gotBinary, err := w.echo(msg, cfg.binary, &cs)
	st.pings += cs.pings
	if err != nil {
		return fmt.Errorf("first echo over the WebSocket: %w", err)
	}
	st.upgrade.record(time.Since(t0))
	if gotBinary != cfg.binary || !bytes.Equal(got, msg) {
		return &kindError{errMismatch, mismatch(msg, cfg.binary, got, gotBinary)}
	}
	return nil
}
