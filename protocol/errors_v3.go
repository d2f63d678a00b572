package protocol

import "errors"

// Sentinel errors of the revision 3 decoders, which wrap them in a
// [*SyntaxError] like the others.
var (
	// ErrInvalidLength reports a revision 3 length header that is malformed
	// or does not fit the data: in a text payload, a length that is not a
	// canonical decimal number (digits only, no leading zero), a missing
	// ':', a length longer than the rest of the payload or one that ends in
	// the middle of a character outside the Basic Multilingual Plane (a
	// UTF-16 surrogate pair); in an XHR2 binary payload, a first byte other
	// than 0 or 1, a digit byte above 9, a missing 0xFF terminator or a
	// length beyond the end of the body. A length that is too short leaves
	// the rest of its packet where the next header should be, so it is
	// reported there.
	ErrInvalidLength = errors.New("engineio/protocol: invalid length")

	// ErrInvalidUTF8 reports text in a revision 3 text payload that is not
	// valid UTF-8. Its length in UTF-16 code units, which the header must
	// state, is then undefined, so the payload cannot be trusted.
	ErrInvalidUTF8 = errors.New("engineio/protocol: invalid UTF-8")

	// ErrInvalidJSONP reports a JSONP POST body that is not a form with
	// exactly one correctly percent-encoded d field (see [DecodeJSONPBody]).
	ErrInvalidJSONP = errors.New("engineio/protocol: invalid JSONP body")
)
