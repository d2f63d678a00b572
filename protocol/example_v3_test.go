package protocol_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/eioactor/engineio/protocol"
)

func ExampleParseRevision() {
	for _, eio := range []string{"4", "3", "", "5"} {
		rev, ok := protocol.ParseRevision(eio)
		fmt.Printf("EIO=%q: %d %v\n", eio, rev, ok)
	}
	// Output:
	// EIO="4": 4 true
	// EIO="3": 3 true
	// EIO="": 0 false
	// EIO="5": 0 false
}

func ExampleAppendPayloadV3() {
	body := protocol.AppendPayloadV3(nil, []protocol.Packet{
		protocol.TextMessage("hello"),
		protocol.TextMessage("€"), // one UTF-16 code unit
		protocol.TextMessage("😀"), // two
		protocol.BinaryMessage([]byte{1, 2, 3, 4}),
	})
	fmt.Printf("%s\n", body)
	fmt.Printf("%s\n", protocol.AppendPayloadV3(nil, nil))
	// Output:
	// 6:4hello2:4€3:4😀10:b4AQIDBA==
	// 0:
}

func ExampleDecodePayloadV3() {
	err := protocol.DecodePayloadV3([]byte("6:4hello2:4€10:b4AQIDBA=="), func(p protocol.Packet) error {
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
	// message text "€"
	// message binary 01 02 03 04
	// <nil>
}

func ExampleDecodePayloadV3_error() {
	// The second length ends in the middle of the emoji.
	err := protocol.DecodePayloadV3([]byte("6:4hello2:4😀"), func(protocol.Packet) error {
		panic("not called: the payload is rejected as a whole")
	})
	fmt.Println(err)
	fmt.Println(errors.Is(err, protocol.ErrInvalidLength))
	// Output:
	// engineio/protocol: invalid length at offset 8
	// true
}

func ExampleAppendBinaryPayloadV3() {
	body := protocol.AppendBinaryPayloadV3(nil, []protocol.Packet{
		protocol.TextMessage("hello"),
		protocol.BinaryMessage([]byte{1, 2, 3, 4}),
	})
	fmt.Println(body)
	// Output: [0 6 255 52 104 101 108 108 111 1 5 255 4 1 2 3 4]
}

func ExampleDecodeBinaryPayloadV3() {
	body := []byte{0, 6, 255, 52, 104, 101, 108, 108, 111, 1, 5, 255, 4, 1, 2, 3, 4}
	err := protocol.DecodeBinaryPayloadV3(body, func(p protocol.Packet) error {
		fmt.Printf("%s binary=%v %q\n", p.Type, p.Binary, p.Data)
		return nil
	})
	fmt.Println(err)
	// Output:
	// message binary=false "hello"
	// message binary=true "\x01\x02\x03\x04"
	// <nil>
}

func ExampleAppendFrameV3() {
	frame, binary := protocol.AppendFrameV3(nil, protocol.TextMessage("hello"))
	fmt.Printf("%q %v\n", frame, binary)
	frame, binary = protocol.AppendFrameV3(nil, protocol.BinaryMessage([]byte{1, 2, 3, 4}))
	fmt.Println(frame, binary)
	// A client that connected with b64=1 gets base64 in a text frame.
	fmt.Printf("%s\n", protocol.AppendPacketV3(nil, protocol.BinaryMessage([]byte{1, 2, 3, 4})))
	// Output:
	// "4hello" false
	// [4 1 2 3 4] true
	// b4AQIDBA==
}

func ExampleDecodeFrameV3() {
	p, err := protocol.DecodeFrameV3([]byte{4, 1, 2, 3, 4}, true)
	fmt.Println(p.Type, p.Binary, p.Data, err)
	p, err = protocol.DecodeFrameV3([]byte("b4AQIDBA=="), false)
	fmt.Println(p.Type, p.Binary, p.Data, err)
	_, err = protocol.DecodeFrameV3([]byte{1, 2, 3, 4}, true)
	fmt.Println(err)
	// Output:
	// message true [1 2 3 4] <nil>
	// message true [1 2 3 4] <nil>
	// engineio/protocol: binary packet must be a message at offset 0
}

func ExampleAppendOpenV3() {
	open := protocol.AppendOpenV3(nil, protocol.Handshake{
		SID:          "lv_VI97HAXpY6yYWAAAC",
		Upgrades:     []string{"websocket"},
		PingInterval: 25 * time.Second,
		PingTimeout:  20 * time.Second,
	})
	fmt.Println(string(open))
	// Output: 0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000}
}

func ExampleAppendJSONP() {
	j := "3" // the j query parameter
	if !protocol.ValidJSONPIndex(j) {
		return // answer 400
	}
	payload := protocol.AppendPayloadV3(nil, []protocol.Packet{
		protocol.TextMessage(`say "hi"` + "\u2028"),
	})
	fmt.Println(string(protocol.AppendJSONP(nil, j, payload)))
	// Output: ___eio[3]("10:4say \"hi\"\u2028");
}

func ExampleDecodeJSONPBody() {
	// The client sent "4:4a" LF "b", its line feed escaped as \n and the
	// whole form-encoded.
	payload, err := protocol.DecodeJSONPBody([]byte(`d=4%3A4a%5Cnb`))
	fmt.Printf("%q %v\n", payload, err)
	err = protocol.DecodePayloadV3(payload, func(p protocol.Packet) error {
		fmt.Printf("%s %q\n", p.Type, p.Data)
		return nil
	})
	fmt.Println(err)
	// Output:
	// "4:4a\nb" <nil>
	// message "a\nb"
	// <nil>
}
