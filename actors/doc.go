// Package actors holds the Engine.IO session actor: one protoactor-go actor
// per session, owning the whole session state machine.
//
// A session's mailbox receives everything that concerns it: long-poll GETs
// and POSTs translated by the HTTP layer, WebSocket connections and their
// frames, heartbeat timer ticks, and the application's sends and closes. The
// actor never blocks: a long-poll is parked (its reply target is kept and
// answered later), WebSocket writes go to a per-connection writer process, and
// timers fire through an injectable Clock by sending a message to the
// session.
//
// Every message a session accepts is an exported type of this package; each
// says who sends it and what reply, if any, it gets. Replies go to the
// envelope's sender, so the HTTP layer waits on a reply PID and never on a Go
// channel handed to the actor: the session may live on another node.
//
// States of a session:
//
//	open (polling) ──WebSocketOpened──> probing ──"2probe"──> upgrading ──"5"──> open (websocket)
//	     │   ^                              │                     │
//	     │   └──── failed or timed-out probe ┴─────────────────────┘
//	     ├──Close──> closing (drain, send "1") ──> closed
//	     └──error, ping timeout, client "1"──────> closed
//
// A session is opened by the supervisor, which spawns it with a Spawner; the
// first thing the actor does is run the Connect event and answer the
// handshake.
package actors
