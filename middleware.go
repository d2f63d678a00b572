package engineio

import (
	"net/http"
	"strings"
)

// Path returns the server's engine path, with its trailing slash
// ("/engine.io/" by default, see WithPath). The server answers requests for
// this path and for the same path without the trailing slash, whatever the
// query string.
func (s *Server) Path() string { return s.cfg.path }

// Middleware returns a handler that passes requests for the server's engine
// path to srv and every other request to next, so an Engine.IO server can be
// put in front of an existing application (like python-engineio's WSGIApp
// wrapping another WSGI app):
//
//	app := http.NewServeMux()
//	app.HandleFunc("GET /hello", hello)
//	http.ListenAndServe(":3000", engineio.Middleware(srv, app))
//
// The engine path matches with and without its trailing slash, for every
// method and any query string; paths below it (such as /engine.io/x) do not
// match and go to next. The request's URL.Path must be the full path the
// client sent: do not put the result behind http.StripPrefix. When next is
// nil, other paths get 404 Not Found.
func Middleware(srv *Server, next http.Handler) http.Handler {
	path := srv.Path()
	alt := strings.TrimSuffix(path, "/")
	if next == nil {
		next = http.NotFoundHandler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p == path || (alt != "" && p == alt) {
			srv.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
