package protocol_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/eioactor/engineio/protocol"
)

func ExampleAppendPayload() {
	body := protocol.AppendPayload(nil, []protocol.Packet{
		protocol.TextMessage("hello"),
		protocol.BinaryMessage([]byte{1, 2, 3, 4}),
	})
	fmt.Printf("%q\n", body)
	// Output: "4hello\x1ebAQIDBA=="
}

func ExampleDecodePayload() {
	body := []byte("4hello\x1ebAQIDBA==")
	err := protocol.DecodePayload(body, func(p protocol.Packet) error {
		if p.Binary {
			fmt.Printf("%s binary % x\n", p.Type, p.Data)
		} else {
			fmt.Printf("%s text %q\n", p.Type, p.Data)
		}
		return nil
	})
	fmt.Println(err)
	// Output:
	// message text "hello"
	// message binary 01 02 03 04
	// <nil>
}

func ExampleDecodePayload_error() {
	err := protocol.DecodePayload([]byte("4hello\x1ebAQ*D"), func(protocol.Packet) error {
		panic("not called: the payload is rejected as a whole")
	})
	fmt.Println(err)
	fmt.Println(errors.Is(err, protocol.ErrInvalidBase64))
	// Output:
	// engineio/protocol: invalid base64 at offset 10
	// true
}

func ExampleAppendFrame() {
	frame, binary := protocol.AppendFrame(nil, protocol.TextMessage("hello"))
	fmt.Printf("%q %v\n", frame, binary)
	frame, binary = protocol.AppendFrame(nil, protocol.BinaryMessage([]byte{1, 2, 3, 4}))
	fmt.Printf("%q %v\n", frame, binary)
	// Output:
	// "4hello" false
	// "\x01\x02\x03\x04" true
}

func ExampleDecodeFrame() {
	p, err := protocol.DecodeFrame([]byte("2probe"), false)
	fmt.Println(p.Type, string(p.Data), err)
	_, err = protocol.DecodeFrame([]byte("bAQIDBA=="), false)
	fmt.Println(err)
	// Output:
	// ping probe <nil>
	// engineio/protocol: unknown packet type at offset 0
}

func ExampleAppendOpen() {
	open := protocol.AppendOpen(nil, protocol.Handshake{
		SID:          "lv_VI97HAXpY6yYWAAAC",
		Upgrades:     []string{"websocket"},
		PingInterval: 25 * time.Second,
		PingTimeout:  20 * time.Second,
		MaxPayload:   1000000,
	})
	fmt.Println(string(open))
	// Output: 0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
}

func ExampleAppendErrorJSON() {
	fmt.Println(string(protocol.AppendErrorJSON(nil, protocol.CodeUnknownSID, "")))
	fmt.Println(string(protocol.AppendErrorJSON(nil, protocol.CodeForbidden, `no "guests"`)))
	// Output:
	// {"code":1,"message":"Session ID unknown"}
	// {"code":4,"message":"no \"guests\""}
}
