package wire

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// Each package declares its own sentinels (matched with errors.Is), so the
// blocks look alike across packages.
var (
	// ErrInvalidMessage reports a frame that is not a valid message: not
	// well-formed CBOR, not a map, a field of the wrong type, a duplicate
	// key, or a required field missing. Decode and Encode wrap it.
	ErrInvalidMessage = errors.New("invalid message")
	// ErrUnsupportedVersion reports that two peers share no protocol version.
	ErrUnsupportedVersion = errors.New("unsupported protocol versions")
)

// field is one key of a message's CBOR map, bound to the Go field that holds
// its value: *string, *[]byte, *uint64, *[]string, *PeerMetadata or
// *map[string]RemoteHeads.
type field struct {
	key   string
	value any
	rule  rule
}

// rule says when a key must be there and when it is sent.
type rule uint8

const (
	// optional: may be absent (or null, undefined, empty); sent only when
	// not empty. An empty list decodes as nil.
	optional rule = iota
	// required: must be there and not empty ("" is as useless as absent).
	required
	// present: must be there, may be empty or zero; always sent.
	present
	// always: may be absent; always sent (peerMetadata goes out as {}).
	always
	// nilable: a list that may be absent (nil) or empty ([]), which mean
	// different things; sent unless nil.
	nilable
)

// byType makes an empty message for each known type name.
var byType = func() map[string]func() Message {
	m := make(map[string]func() Message, len(knownTypes))
	for _, newMessage := range knownTypes {
		m[newMessage().Type()] = newMessage
	}
	return m
}()

// CBOR modes. Decoding is strict about types and duplicate keys, exact about
// key names, and bounded; it accepts what cbor-x produces (non-minimal
// headers, undefined, tags such as 64 around byte strings, indefinite
// lengths). Every length is checked against the bytes present before
// anything is allocated, so a frame cannot make the decoder allocate much
// more than its own size.
var (
	decMode cbor.DecMode
	encMode cbor.EncMode
)

func init() {
	var err error
	// sync/engine's presence codec sets its modes up alike: presence's
	// envelope is a format of its own (PROTOCOL.md), so it has its own.
	decMode, err = cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  8,    // deepest message: remote-heads-changed, 4 levels
		MaxArrayElements: 4096, // supportedProtocolVersions, heads, add/remove
		MaxMapPairs:      1024, // a message map, newHeads
		NaN:              cbor.NaNDecodeForbidden,
		Inf:              cbor.InfDecodeForbidden,
	}.DecMode()
	if err != nil {
		panic(fmt.Sprintf("wire: cbor decode options: %v", err))
	}
	// Nil slices and maps go out as empty ones, never as null, which
	// JavaScript code would trip over.
	encMode, err = cbor.EncOptions{NilContainers: cbor.NilContainerAsEmpty}.EncMode()
	if err != nil {
		panic(fmt.Sprintf("wire: cbor encode options: %v", err))
	}
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidMessage}, args...)...)
}

// rawValue is one value of a frame's top-level map, as the bytes it
// occupies in the frame (not copied: a 30 MB sync message is decoded once,
// into its message).
type rawValue []byte

func (r *rawValue) UnmarshalCBOR(b []byte) error {
	*r = b
	return nil
}

// mapKey is a key of a frame's top-level map. Keys are text; an integer key
// is read and ignored, as a Go struct decoder does; anything else makes the
// frame malformed.
type mapKey struct {
	text  string
	num   int64
	isNum bool
}

func (k *mapKey) UnmarshalCBOR(b []byte) error {
	switch major := b[0] >> 5; major {
	case majorText:
		return decMode.Unmarshal(b, &k.text)
	case majorUint, majorNegInt:
		k.isNum = true
		return decMode.Unmarshal(b, &k.num)
	default:
		return fmt.Errorf("cbor: a map key of CBOR major type %d is neither text nor an integer", major)
	}
}

// absent reports a key that is missing, null or undefined.
func (r rawValue) absent() bool {
	return len(r) == 0 || len(r) == 1 && (r[0] == 0xf6 || r[0] == 0xf7)
}

// Decode decodes one frame body into a message and validates it. A frame of
// a type this peer does not know decodes to *Unknown with a nil error. Any
// other failure wraps ErrInvalidMessage (or ErrFrameTooLarge), with text such
// as "invalid message: sync message without documentId".
func Decode(frame []byte) (Message, error) {
	if len(frame) == 0 {
		return nil, invalidf("empty frame")
	}
	if len(frame) > MaxFrameSize {
		return nil, fmt.Errorf("decode: %w: length %d exceeds %d", ErrFrameTooLarge, len(frame), MaxFrameSize)
	}
	var keys map[mapKey]rawValue
	if err := decMode.Unmarshal(frame, &keys); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	var typ string
	if raw := keys[mapKey{text: "type"}]; !raw.absent() {
		if err := decMode.Unmarshal(raw, &typ); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
		}
	}
	if typ == "" {
		return nil, invalidf("message without type")
	}
	var m Message
	if newMessage := byType[typ]; newMessage != nil {
		m = newMessage()
	} else {
		m = &Unknown{TypeName: typ}
	}
	fs := m.fields()
	for _, f := range fs {
		raw := keys[mapKey{text: f.key}]
		if raw.absent() {
			if f.rule == present {
				return nil, invalidf("%s message without %s", typ, f.key)
			}
			continue
		}
		if err := decMode.Unmarshal(raw, f.value); err != nil {
			return nil, fmt.Errorf("%w: %s message: %w", ErrInvalidMessage, typ, err)
		}
		normalize(f)
	}
	if err := validate(m, fs); err != nil {
		return nil, err
	}
	return m, nil
}

// normalize gives a decoded value the one form Encode and Decode agree on,
// so that decoding what was encoded gives back the same message.
func normalize(f field) {
	switch v := f.value.(type) {
	case *[]string:
		switch {
		case f.rule == nilable && *v == nil:
			*v = []string{} // present: an empty list, not an absent one
		case f.rule != nilable && len(*v) == 0:
			*v = nil
		}
	case *map[string]RemoteHeads:
		if len(*v) == 0 {
			*v = nil
		}
		for k, h := range *v {
			if len(h.Heads) == 0 {
				h.Heads = nil
				(*v)[k] = h
			}
		}
	}
}

// validate checks m, whose fields are fs, by the rules Decode and Encode
// share, so that whatever one accepts the other does too: required fields
// not empty, text valid UTF-8, numbers finite.
func validate(m Message, fs []field) error {
	typ := m.Type()
	if u, ok := m.(*Unknown); ok {
		if typ == "" {
			return invalidf("message without type")
		}
		if byType[typ] != nil {
			return invalidf("unknown message with the known type %q", typ)
		}
		if !utf8.ValidString(u.TypeName) {
			return invalidf("%s message with invalid UTF-8 text", typ)
		}
	}
	for _, f := range fs {
		if f.rule == required && isEmpty(f.value) {
			return invalidf("%s message without %s", typ, f.key)
		}
	}
	for _, f := range fs {
		if err := checkValue(typ, f.value); err != nil {
			return err
		}
	}
	return nil
}

func isEmpty(v any) bool {
	switch v := v.(type) {
	case *string:
		return *v == ""
	case *[]byte:
		return len(*v) == 0
	case *[]string:
		return len(*v) == 0
	case *map[string]RemoteHeads:
		return len(*v) == 0
	}
	return reflect.ValueOf(v).Elem().IsZero()
}

func checkValue(typ string, v any) error {
	var texts []string
	switch v := v.(type) {
	case *string:
		texts = []string{*v}
	case *[]string:
		texts = *v
	case *PeerMetadata:
		texts = append([]string{v.StorageID}, v.Extensions...)
	case *map[string]RemoteHeads:
		for k, h := range *v {
			if math.IsNaN(h.Timestamp) || math.IsInf(h.Timestamp, 0) {
				return invalidf("%s message with a non-finite timestamp", typ)
			}
			texts = append(append(texts, k), h.Heads...)
		}
	}
	for _, s := range texts {
		if !utf8.ValidString(s) {
			return invalidf("%s message with invalid UTF-8 text", typ)
		}
	}
	return nil
}

// Encode validates m by the rules Decode applies and encodes it as one frame
// body: a CBOR map with automerge-repo's key names, "type" first, then the
// fields in the order the message describes them. It returns an error
// wrapping ErrInvalidMessage for an invalid message and ErrFrameTooLarge when
// the result would exceed MaxFrameSize.
func Encode(m Message) ([]byte, error) {
	if m == nil {
		return nil, invalidf("nil message")
	}
	fs := m.fields()
	if err := validate(m, fs); err != nil {
		return nil, err
	}
	sent := make([]field, 0, len(fs))
	size := 0
	for _, f := range fs {
		if data, ok := f.value.(*[]byte); ok {
			size += len(*data)
		}
		switch {
		case f.rule == optional && isEmpty(f.value):
		case f.rule == nilable && *f.value.(*[]string) == nil:
		default:
			sent = append(sent, f)
		}
	}
	if size > MaxFrameSize {
		return nil, fmt.Errorf("encode %s message: %w: data of %d bytes exceeds %d", m.Type(), ErrFrameTooLarge, size, MaxFrameSize)
	}
	frame := appendHead(make([]byte, 0, size+256), majorMap, uint64(len(sent)+1))
	frame = appendText(appendText(frame, "type"), m.Type())
	for _, f := range sent {
		frame = appendText(frame, f.key)
		switch v := f.value.(type) {
		case *string:
			frame = appendText(frame, *v)
		case *[]byte:
			frame = append(appendHead(frame, majorBytes, uint64(len(*v))), *v...)
		case *uint64:
			frame = appendHead(frame, majorUint, *v)
		default:
			b, err := encMode.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("encode %s message: %w", m.Type(), err)
			}
			frame = append(frame, b...)
		}
	}
	if len(frame) > MaxFrameSize {
		return nil, fmt.Errorf("encode %s message: %w: length %d exceeds %d", m.Type(), ErrFrameTooLarge, len(frame), MaxFrameSize)
	}
	return frame, nil
}

// CBOR major types.
const (
	majorUint   = 0
	majorNegInt = 1
	majorBytes  = 2
	majorText   = 3
	majorMap    = 5
)

// appendHead appends a CBOR head (major type and argument), minimally
// encoded, as fxamacker/cbor writes the values it encodes for us.
func appendHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= math.MaxUint8:
		return append(b, m|24, byte(n))
	case n <= math.MaxUint16:
		return append(b, m|25, byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return append(b, m|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, m|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func appendText(b []byte, s string) []byte {
	return append(appendHead(b, majorText, uint64(len(s))), s...)
}
