// Package httpapi serves Engine.IO over net/http: it parses requests,
// translates each into a message to the supervisor or to a session actor,
// waits for the reply on a reply PID while honouring the request's context,
// and writes the response. It also runs the WebSocket transport: the
// handler goroutine reads frames and sends them to the session, and a writer
// actor per connection is the socket's only writer. No session state lives
// here.
package httpapi
