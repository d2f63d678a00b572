package main

import (
	"testing"

	"github.com/eioactor/engineio/examples/internal/routertest"
)

// TestRouter serves the example's router and checks that the engine path
// works through it over polling and WebSocket, with and without its
// trailing slash, and that the other route still answers.
func TestRouter(t *testing.T) {
	srv, err := newEcho()
	if err != nil {
		t.Fatal(err)
	}
	routertest.Run(t, srv, newRouter(srv))
}
