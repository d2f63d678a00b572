package engineio

import (
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	cmap "github.com/orcaman/concurrent-map"
)

// newActorSystem returns the actor system of a server that brings its own:
// protoactor's logging goes to logger (discarded by default), and the
// process registry is compacted (see compactProcessRegistry).
func newActorSystem(logger *slog.Logger) *actor.ActorSystem {
	sys := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }),
		actor.WithDeadLetterRequestLogging(false),
	)
	compactProcessRegistry(sys)
	return sys
}

// compactProcessRegistry puts the local processes of sys in one sharded map
// (32 shards) instead of protoactor's 1,024. Every session registers two
// processes (its actor and its WebSocket writer), and the first process in
// a map allocates a whole table group, 288 bytes: with 32,768 maps, up to
// tens of thousands of sessions nearly every process has a map of its own:
// 527 bytes of live heap per session at 2,000 sessions, about 460 at
// 10,000 (heap profiles). In 32 maps it is 147 bytes per session at 2,000.
//
// It must run before sys is shared: the processes registered so far (the
// system's own) are moved over.
func compactProcessRegistry(sys *actor.ActorSystem) {
	old := sys.ProcessRegistry.LocalPIDs
	compact := &actor.SliceMap{LocalPIDs: []cmap.ConcurrentMap{cmap.New()}}
	for _, m := range old.LocalPIDs {
		m.IterCb(func(id string, p any) { compact.GetBucket(id).Set(id, p) })
	}
	sys.ProcessRegistry.LocalPIDs = compact
}
