package httpapi

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eioactor/engineio/actors"
	"github.com/eioactor/engineio/internal/mailbox"
	"github.com/eioactor/engineio/protocol"
)

// The writer's control frames, byte for byte: a pong carries its ping's
// data; a close frame carries its status code and goes out once; after it
// neither a pong nor a batch does, and the batch closes the connection. A
// close that may not wait gives up while another control frame is being
// written.
func TestWriterControlFrames(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	received := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(client)
		received <- b
	}()
	ww := &wsWriter{nc: server, closer: server, timeout: time.Second, deflateThreshold: -1, mbox: mailbox.New()}

	if err := ww.pong("hi"); err != nil {
		t.Fatalf("pong: %v", err)
	}
	ww.control.Lock()
	if err := ww.writeClose(websocket.CloseGoingAway, time.Second, false); !errors.Is(err, errControlBusy) {
		t.Fatalf("close while another control frame is written: %v, want errControlBusy", err)
	}
	ww.control.Unlock()
	if err := ww.writeClose(websocket.CloseGoingAway, time.Second, true); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := ww.writeClose(websocket.CloseNormalClosure, time.Second, true); !errors.Is(err, websocket.ErrCloseSent) {
		t.Fatalf("second close: %v, want ErrCloseSent", err)
	}
	if err := ww.pong("late"); err != nil {
		t.Fatalf("pong after the close: %v", err)
	}
	ww.InvokeUserMessage(&actors.WriteFrames{Packets: []protocol.Packet{protocol.TextMessage("late")}})
	if !ww.closed {
		t.Fatal("a batch after the close frame did not close the connection")
	}

	want := []byte{0x8a, 2, 'h', 'i', 0x88, 2, 0x03, 0xe9}
	select {
	case got := <-received:
		if !bytes.Equal(got, want) {
			t.Fatalf("frames % x, want % x", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the connection was not closed")
	}
}
