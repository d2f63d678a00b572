package protocol

import (
	"encoding/json"
	"testing"
)

var jsonStringTests = []string{
	"",
	"plain",
	`quote " backslash \ slash /`,
	"\x00\x01\x1f\x7f",
	"\b\f\n\r\t",
	"<script>&amp;</script>",
	"€ 😀 é",
	"\u2028\u2029",
	"\xff\xfe bad \xc3",
	"\xed\xa0\x80", // a surrogate half is invalid UTF-8
	"\xf4\x90\x80\x80",
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range jsonStringTests {
		checkJSONString(t, s)
	}
}

func checkJSONString(t *testing.T, s string) {
	t.Helper()
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := appendJSONString(nil, s); string(got) != string(want) {
		t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
	}
}

// FuzzAppendJSONString checks the hand-written escaper against
// encoding/json, which is the definition of correct here.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range jsonStringTests {
		f.Add(s)
	}
	f.Fuzz(checkJSONString)
}
