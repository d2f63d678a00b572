package protocol

import (
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func TestValidJSONPIndex(t *testing.T) {
	for _, tt := range []struct {
		j    string
		want bool
	}{
		{"0", true},
		{"3", true},
		{"007", true},
		{"0123456789", true},
		{"", false},
		{"01234567890", false}, // eleven digits
		{"-1", false},
		{"1a", false},
		{" 1", false},
		{"1]);alert(1)//", false},
		{"１", false}, // fullwidth digit one
	} {
		if got := ValidJSONPIndex(tt.j); got != tt.want {
			t.Errorf("ValidJSONPIndex(%q) = %v, want %v", tt.j, got, tt.want)
		}
	}
}

// Checklist item 51: ___eio[n]("<json-escaped payload>");
func TestAppendJSONP(t *testing.T) {
	for _, tt := range []struct {
		index   string
		payload string
		want    string
	}{
		{"3", "6:4hello", `___eio[3]("6:4hello");`},
		{"0", "0:", `___eio[0]("0:");`},
		{"3", `8:4"a\b"` + "\n", `___eio[3]("8:4\"a\\b\"\n");`},
		{"3", "3:4\u2028\u2029", `___eio[3]("3:4\u2028\u2029");`},
		{"12", "10:4</script>", `___eio[12]("10:4\u003c/script\u003e");`},
		{"3", "3:4€😀", `___eio[3]("3:4€😀");`},
		{"3", "2:4\x00", `___eio[3]("2:4\u0000");`},
		{"3", "2:4\xff", `___eio[3]("2:4\ufffd");`},
		// An unchecked index cannot break out of the brackets.
		{"1]);alert(1)//", "1:6", `___eio[11]("1:6");`},
	} {
		got := AppendJSONP([]byte("x"), tt.index, []byte(tt.payload))
		if string(got) != "x"+tt.want {
			t.Errorf("AppendJSONP(%q, %q) = %s, want %s", tt.index, tt.payload, got, "x"+tt.want)
		}
	}
}

// checkJSONP holds AppendJSONP to its meaning: a script that calls
// ___eio[index] with the payload as a string, which JSON can read back.
func checkJSONP(t *testing.T, index string, payload []byte) {
	t.Helper()
	out := string(AppendJSONP(nil, index, payload))
	head := "___eio[" + index + "]("
	if !strings.HasPrefix(out, head) || !strings.HasSuffix(out, ");") {
		t.Fatalf("AppendJSONP(%q) = %s", payload, out)
	}
	lit := out[len(head) : len(out)-2]
	if strings.ContainsAny(lit, "\n\r\u2028\u2029<") {
		t.Fatalf("AppendJSONP(%q) leaves a raw line terminator or '<': %s", payload, lit)
	}
	var s string
	if err := json.Unmarshal([]byte(lit), &s); err != nil {
		t.Fatalf("AppendJSONP(%q) = %s: %v", payload, out, err)
	}
	if want := string(appendValidUTF8(nil, payload)); s != want {
		t.Fatalf("AppendJSONP(%q) carries %q", payload, s)
	}
}

func TestAppendJSONPIsAString(t *testing.T) {
	for _, p := range jsonStringTests {
		checkJSONP(t, "7", []byte(p))
	}
}

// The regular expressions of the JavaScript server's polling-jsonp
// transport, spelt as there.
var (
	rSlashes       = regexp.MustCompile(`(\\)?\\n`)
	rDoubleSlashes = regexp.MustCompile(`\\\\n`)
)

// jsRegexUnescape transcribes what the JavaScript server's polling-jsonp
// transport does to the d value.
func jsRegexUnescape(s string) string {
	s = rSlashes.ReplaceAllStringFunc(s, func(m string) string {
		if len(m) == 3 { // the optional backslash matched: keep it all
			return m
		}
		return "\n"
	})
	return rDoubleSlashes.ReplaceAllLiteralString(s, `\n`)
}

// jsonpClientBody is what the JavaScript client POSTs for payload: escaped
// JSON newlines doubled, newlines escaped, then form-encoded.
func jsonpClientBody(payload string) string {
	s := strings.ReplaceAll(payload, `\n`, "\\\n")
	s = strings.ReplaceAll(s, "\n", `\n`)
	return "d=" + url.QueryEscape(s)
}

var unescapeTests = []struct{ in, want string }{
	{``, ``},
	{`plain`, `plain`},
	{`a\nb`, "a\nb"},
	{`a\\nb`, `a\nb`},
	{`\n\n`, "\n\n"},
	{`\\n\\n`, `\n\n`},
	{`\\\n`, `\\n`},
	{`\\\\n`, `\\\n`},
	{`\`, `\`},
	{`n\`, `n\`},
	{`\\`, `\\`},
	{`\t\r\"`, `\t\r\"`},
	{"\\\n", "\\\n"},
	{`x\nx\\nx\\\nx`, "x\nx\\nx\\\\nx"},
}

func TestUnescapeJSONPNewlines(t *testing.T) {
	for _, tt := range unescapeTests {
		if got := string(unescapeJSONPNewlines([]byte(tt.in))); got != tt.want {
			t.Errorf("unescapeJSONPNewlines(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := jsRegexUnescape(tt.in); got != tt.want {
			t.Errorf("the JavaScript server makes %q of %q, the table says %q", got, tt.in, tt.want)
		}
	}
}

// FuzzUnescapeJSONPNewlines checks the one-pass unescaping against a
// transcription of the JavaScript server's two regular expressions.
func FuzzUnescapeJSONPNewlines(f *testing.F) {
	for _, tt := range unescapeTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(unescapeJSONPNewlines([]byte(s))), jsRegexUnescape(s); got != want {
			t.Fatalf("unescapeJSONPNewlines(%q) = %q, the JavaScript server makes %q", s, got, want)
		}
	})
}

var jsonpBodyTests = []struct {
	name string
	body string
	want string
}{
	{"plain", "d=1%3A6", "1:6"},
	{"checklist 51: newline restored", "d=4%3A4a%5Cnb", "4:4a\nb"},
	{"escaped newline restored", `d=7%3A4%22a%5C%5Cnb%22`, `7:4"a\nb"`},
	{"plus is a space", "d=5%3A4a+b+", "5:4a b "},
	{"literal plus", "d=3%3A4%2B", "3:4+"},
	{"utf-8", "d=3%3A4%E2%82%AC%F0%9F%98%80", "3:4€😀"},
	{"unescaped bytes kept", "d=6:4hello", "6:4hello"},
	{"other fields", "x=%&d=1%3A6&y", "1:6"},
	{"empty fields", "&&d=1%3A6&", "1:6"},
	{"encoded name", "%64=1%3A6", "1:6"},
	{"equals in value", "d=a=b", "a=b"},
	{"no value", "d", ""},
	{"empty value", "d=", ""},
	{"carriage return kept", "d=%0D", "\r"},
}

func TestDecodeJSONPBody(t *testing.T) {
	for _, tt := range jsonpBodyTests {
		body := []byte(tt.body)
		got, err := DecodeJSONPBody(body)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: DecodeJSONPBody(%q) = %q, %v; want %q", tt.name, tt.body, got, err, tt.want)
		}
		if len(got) > 0 && len(body) > 0 && &got[0] == &body[len(body)-len(got)] {
			t.Errorf("%s: result aliases the body", tt.name)
		}
	}
}

// The JavaScript client's body, decoded, then parsed as a payload: the
// whole JSONP upload path.
func TestDecodeJSONPBodyFromClient(t *testing.T) {
	pkts := []Packet{
		text(Message, "line one\nline two"),
		text(Message, `{"json":"with \n escaped newline and \\ backslash"}`),
		text(Message, "€😀 \u2028"),
		bin(1, 2, 3, 4),
		text(Ping, ""),
	}
	body := jsonpClientBody(string(AppendPayloadV3(nil, pkts)))
	d, err := DecodeJSONPBody([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	got, err := collectV3(d)
	if err != nil || !samePackets(got, pkts) {
		t.Errorf("decoded [%s], %v; want [%s]", describe(got...), err, describe(pkts...))
	}
}

func TestDecodeJSONPBodyErrors(t *testing.T) {
	for _, tt := range []struct {
		body   string
		offset int
	}{
		{"", 0},          // no d
		{"x=1", 3},       // no d
		{"D=1%3A6", 7},   // names are case-sensitive
		{"dd=1", 4},      // no d
		{"d=1&d=2", 4},   // two d fields
		{"d&%64=2", 2},   // ... however spelt
		{"d=%4", 2},      // truncated escape
		{"d=1%3A6%", 7},  // ... at the end
		{"d=%zz", 2},     // not hex
		{"d=%%41", 2},    //
		{"%6=1", 0},      // in a name
		{"x=1&%g4=1", 4}, // in any name
		{"d=1%3A6&%", 8}, // a name that is only '%'
		{"x=1&d=a%2", 7}, // offsets count from the body start
	} {
		got, err := DecodeJSONPBody([]byte(tt.body))
		if !errors.Is(err, ErrInvalidJSONP) {
			t.Errorf("DecodeJSONPBody(%q) = %q, %v; want ErrInvalidJSONP", tt.body, got, err)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) || se.Offset != tt.offset {
			t.Errorf("DecodeJSONPBody(%q) = %v, want offset %d", tt.body, err, tt.offset)
		}
	}
}

func TestJSONPAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	payload := []byte("6:4hello10:b4AQIDBA==3:4\u2028")
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = AppendJSONP(buf[:0], "3", payload) }); n != 0 {
		t.Errorf("AppendJSONP with capacity: %v allocs, want 0", n)
	}
	body := []byte(jsonpClientBody("12:4hello\nworld"))
	if n := testing.AllocsPerRun(100, func() { _, _ = DecodeJSONPBody(body) }); n != 1 {
		t.Errorf("DecodeJSONPBody: %v allocs, want 1 (the result)", n)
	}
}
