package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
)

// allMessages holds one message of every type, with every optional field set
// somewhere.
func allMessages() []Message {
	syncData := []byte{0x42, 0x00, 0x01, 0x02} // looks like a v1 sync message
	return []Message{
		&Join{SenderID: "12D3KooWJoin", SupportedProtocolVersions: []string{"1"}},
		&Join{SenderID: "js-peer", PeerMetadata: PeerMetadata{StorageID: "st-1", IsEphemeral: true}},
		&Join{SenderID: "empty-versions", SupportedProtocolVersions: []string{}},
		&Peer{SenderID: "a", TargetID: "b", PeerMetadata: PeerMetadata{StorageID: "st-2"}, SelectedProtocolVersion: "1"},
		&Peer{SenderID: "a", TargetID: "b", PeerMetadata: PeerMetadata{Extensions: []string{ExtChange}}, SelectedProtocolVersion: "1"},
		&CollabChange{SenderID: "a", TargetID: "b", DocumentID: "4NMNnkMhL8jXrdJ9jamS58PAVdXu", Data: []byte{0x85, 0x6f, 0x4a, 0x83}},
		&CollabDoc{SenderID: "a", TargetID: "b", DocumentID: "4NMNnkMhL8jXrdJ9jamS58PAVdXu", Data: []byte{0x85, 0x6f, 0x4a, 0x83, 0}},
		&CollabHeadsList{SenderID: "a", TargetID: "b", Data: make([]byte, 17)},
		&CollabHeads{SenderID: "a", TargetID: "b", DocumentID: "4NMNnkMhL8jXrdJ9jamS58PAVdXu", Heads: []string{}, Epoch: 3},
		&CollabChange{SenderID: "a", TargetID: "b", DocumentID: "4NMNnkMhL8jXrdJ9jamS58PAVdXu", Data: []byte{0x85}, Epoch: 2},
		&CollabEpoch{SenderID: "a", TargetID: "b", DocumentID: "4NMNnkMhL8jXrdJ9jamS58PAVdXu", Epoch: 1,
			Heads: []string{strings.Repeat("ab", 32)}, Root: strings.Repeat("cd", 32)},
		&ErrorMessage{Message: "unsupported protocol versions [2]; this peer speaks [1]"},
		&ErrorMessage{SenderID: "a", TargetID: "b", Message: ""},
		&Leave{SenderID: "a"},
		&Sync{SenderID: "a", TargetID: "b", DocumentID: "4NMNnkMhL8jXrdJ9jamS58PAVdXu", Data: syncData},
		&Request{SenderID: "b", TargetID: "a", DocumentID: "4NMNnkMhL8jXrdJ9jamS58PAVdXu", Data: syncData},
		&DocUnavailable{SenderID: "a", TargetID: "b", DocumentID: "4NMNnkMhL8jXrdJ9jamS58PAVdXu"},
		&Ephemeral{SenderID: "c", TargetID: "b", DocumentID: "doc", SessionID: "k3j4h5", Count: 0, Data: []byte{0xa0}},
		&Ephemeral{SenderID: "c", TargetID: "b", DocumentID: "doc", SessionID: "k3j4h5", Count: math.MaxUint64, Data: []byte{0xa0}},
		&RemoteSubscriptionChange{SenderID: "a", TargetID: "b", Add: []string{"s1", "s2"}},
		&RemoteSubscriptionChange{SenderID: "a", TargetID: "b", Remove: []string{"s3"}},
		&RemoteHeadsChanged{SenderID: "a", TargetID: "b", DocumentID: "doc",
			NewHeads: map[string]RemoteHeads{"s1": {Heads: []string{"ab12"}, Timestamp: 1.7e12}, "s2": {}}},
		&RemoteHeadsChanged{SenderID: "a", TargetID: "b", DocumentID: "doc"},
		&Unknown{TypeName: "future-thing", SenderID: "a"},
		&Unknown{TypeName: "x"},
	}
}

func TestRoundTrip(t *testing.T) {
	var stream bytes.Buffer
	fw := NewFrameWriter(&stream)
	for _, m := range allMessages() {
		frame, err := Encode(m)
		if err != nil {
			t.Fatalf("Encode(%#v): %v", m, err)
		}
		got, err := Decode(frame)
		if err != nil {
			t.Fatalf("Decode(Encode(%#v)): %v", m, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("round trip:\n got %#v\nwant %#v", got, m)
		}
		if err := fw.WriteMessage(m); err != nil {
			t.Fatalf("WriteMessage: %v", err)
		}
	}
	fr := NewFrameReader(&stream)
	for _, want := range allMessages() {
		got, err := fr.ReadMessage()
		if err != nil {
			t.Fatalf("ReadMessage: %v", err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("stream:\n got %#v\nwant %#v", got, want)
		}
	}
	if _, err := fr.ReadMessage(); err != io.EOF {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}
}

// cbx builds CBOR the way cbor-x (automerge-repo's encoder, options
// {tagUint8Array: false, useRecords: false}) writes it: every JS object is a
// map with a 16-bit length header (0xb9 nn nn) however few keys it has,
// strings and arrays get minimal headers, Uint8Array is a plain byte string,
// undefined is 0xf7 and integers above 2^32 are float64.
type cbx []byte

func (b cbx) obj(n int) cbx     { return append(b, 0xb9, byte(n>>8), byte(n)) }
func (b cbx) arr(n int) cbx     { return b.head(4, uint64(n)) }
func (b cbx) str(s string) cbx  { return append(b.head(3, uint64(len(s))), s...) }
func (b cbx) bin(p []byte) cbx  { return append(b.head(2, uint64(len(p))), p...) }
func (b cbx) uint(n uint64) cbx { return b.head(0, n) }
func (b cbx) undef() cbx        { return append(b, 0xf7) }
func (b cbx) null() cbx         { return append(b, 0xf6) }
func (b cbx) boolean(v bool) cbx {
	if v {
		return append(b, 0xf5)
	}
	return append(b, 0xf4)
}
func (b cbx) f64(v float64) cbx {
	return binary.BigEndian.AppendUint64(append(b, 0xfb), math.Float64bits(v))
}
func (b cbx) kv(k, v string) cbx { return b.str(k).str(v) }

func (b cbx) head(major byte, n uint64) cbx {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n < 1<<8:
		return append(b, m|24, byte(n))
	case n < 1<<16:
		return append(b, m|25, byte(n>>8), byte(n))
	case n < 1<<32:
		return append(b, m|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, m|27), n)
	}
}

func TestDecodeCborX(t *testing.T) {
	// A join as a JS NetworkAdapter sends it for a Repo without storage:
	// {type: "join", senderId: "js-peer-1",
	//  peerMetadata: {storageId: undefined, isEphemeral: false},
	//  supportedProtocolVersions: ["1"]}
	join := []byte{
		0xb9, 0x00, 0x04, // map, 4 pairs, cbor-x's non-minimal 16-bit header
		0x64, 't', 'y', 'p', 'e', // text(4) "type"
		0x64, 'j', 'o', 'i', 'n', // text(4) "join"
		0x68, 's', 'e', 'n', 'd', 'e', 'r', 'I', 'd', // text(8) "senderId"
		0x69, 'j', 's', '-', 'p', 'e', 'e', 'r', '-', '1', // text(9) "js-peer-1"
		0x6c, 'p', 'e', 'e', 'r', 'M', 'e', 't', 'a', 'd', 'a', 't', 'a', // text(12) "peerMetadata"
		0xb9, 0x00, 0x02, // map, 2 pairs, 16-bit header again
		0x69, 's', 't', 'o', 'r', 'a', 'g', 'e', 'I', 'd', // text(9) "storageId"
		0xf7,                                                        // undefined
		0x6b, 'i', 's', 'E', 'p', 'h', 'e', 'm', 'e', 'r', 'a', 'l', // text(11) "isEphemeral"
		0xf4,       // false
		0x78, 0x19, // text(25), one-byte length: "supportedProtocolVersions"
		's', 'u', 'p', 'p', 'o', 'r', 't', 'e', 'd', 'P', 'r', 'o', 't', 'o', 'c', 'o', 'l',
		'V', 'e', 'r', 's', 'i', 'o', 'n', 's',
		0x81, 0x61, '1', // array(1) ["1"]
	}
	// A sync message in the key order automerge-repo builds it
	// (DocSynchronizer sets type, targetId, data, documentId; the
	// NetworkSubsystem then adds senderId), plus a key collab doesn't know.
	syncMsg := []byte{
		0xb9, 0x00, 0x06, // map, 6 pairs
		0x64, 't', 'y', 'p', 'e', 0x64, 's', 'y', 'n', 'c', // "type": "sync"
		0x68, 't', 'a', 'r', 'g', 'e', 't', 'I', 'd', // "targetId"
		0x62, 'g', 'o', // "go"
		0x64, 'd', 'a', 't', 'a', // "data"
		0x43, 0x42, 0x00, 0x00, // bytes(3) 42 00 00: a Uint8Array as a plain byte string
		0x6a, 'd', 'o', 'c', 'u', 'm', 'e', 'n', 't', 'I', 'd', // "documentId"
		0x64, 'd', 'o', 'c', '1', // "doc1"
		0x68, 's', 'e', 'n', 'd', 'e', 'r', 'I', 'd', // "senderId"
		0x62, 'j', 's', // "js"
		0x65, 'e', 'x', 't', 'r', 'a', // "extra": an unknown key, ignored
		0xb9, 0x00, 0x01, 0x61, 'x', 0x81, 0xf6, // {x: [null]}
	}
	tests := []struct {
		name  string
		frame []byte
		want  Message
	}{
		{"join", join, &Join{SenderID: "js-peer-1", SupportedProtocolVersions: []string{"1"}}},
		{"sync", syncMsg, &Sync{SenderID: "js", TargetID: "go", DocumentID: "doc1", Data: []byte{0x42, 0, 0}}},
		{"join without versions or metadata (older JS)",
			cbx{}.obj(2).kv("type", "join").kv("senderId", "old"),
			&Join{SenderID: "old"}},
		{"join with peerMetadata undefined",
			cbx{}.obj(4).kv("type", "join").kv("senderId", "p").str("peerMetadata").undef().
				str("supportedProtocolVersions").arr(2).str("2").str("1"),
			&Join{SenderID: "p", SupportedProtocolVersions: []string{"2", "1"}}},
		{"peer",
			cbx{}.obj(5).kv("type", "peer").kv("senderId", "js").str("peerMetadata").
				obj(2).kv("storageId", "3760df37-a4c6-4f66-9ecd-732039a9385d").str("isEphemeral").boolean(false).
				kv("selectedProtocolVersion", "1").kv("targetId", "go"),
			&Peer{SenderID: "js", TargetID: "go", SelectedProtocolVersion: "1",
				PeerMetadata: PeerMetadata{StorageID: "3760df37-a4c6-4f66-9ecd-732039a9385d"}}},
		{"error as the JS websocket server sends it",
			cbx{}.obj(4).kv("type", "error").kv("senderId", "js").kv("message", "unsupported protocol version").kv("targetId", "go"),
			&ErrorMessage{SenderID: "js", TargetID: "go", Message: "unsupported protocol version"}},
		{"request",
			cbx{}.obj(5).kv("type", "request").kv("targetId", "go").str("data").bin([]byte{0x42, 1}).
				kv("documentId", "d").kv("senderId", "js"),
			&Request{SenderID: "js", TargetID: "go", DocumentID: "d", Data: []byte{0x42, 1}}},
		{"doc-unavailable",
			cbx{}.obj(4).kv("type", "doc-unavailable").kv("documentId", "d").kv("targetId", "go").kv("senderId", "js"),
			&DocUnavailable{SenderID: "js", TargetID: "go", DocumentID: "d"}},
		{"ephemeral, relayed by JS (targetId rewritten, the rest kept)",
			cbx{}.obj(7).kv("type", "ephemeral").kv("targetId", "go").kv("documentId", "d").
				str("data").bin([]byte{0xb9, 0, 0}).str("count").uint(7).kv("sessionId", "x1y2z3").kv("senderId", "third"),
			&Ephemeral{SenderID: "third", TargetID: "go", DocumentID: "d", SessionID: "x1y2z3", Count: 7, Data: []byte{0xb9, 0, 0}}},
		{"byte string inside cbor-x's typed-array tag 64",
			append(cbx{}.obj(5).kv("type", "sync").kv("senderId", "js").kv("targetId", "go").kv("documentId", "d").
				str("data"), 0xd8, 0x40, 0x41, 0x42),
			&Sync{SenderID: "js", TargetID: "go", DocumentID: "d", Data: []byte{0x42}}},
		{"remote-heads-changed with a float64 timestamp",
			cbx{}.obj(5).kv("type", "remote-heads-changed").kv("senderId", "js").kv("targetId", "go").kv("documentId", "d").
				str("newHeads").obj(1).str("st").obj(2).str("heads").arr(1).str("abcd").str("timestamp").f64(1722000000123),
			&RemoteHeadsChanged{SenderID: "js", TargetID: "go", DocumentID: "d",
				NewHeads: map[string]RemoteHeads{"st": {Heads: []string{"abcd"}, Timestamp: 1722000000123}}}},
		{"remote-subscription-change",
			cbx{}.obj(4).kv("type", "remote-subscription-change").kv("senderId", "js").kv("targetId", "go").
				str("add").arr(1).str("st"),
			&RemoteSubscriptionChange{SenderID: "js", TargetID: "go", Add: []string{"st"}}},
		{"leave",
			cbx{}.obj(2).kv("type", "leave").kv("senderId", "js"),
			&Leave{SenderID: "js"}},
		{"unknown type with fields of any shape",
			cbx{}.obj(4).kv("type", "beelay").kv("senderId", "js").str("data").uint(5).str("deep").arr(1).obj(0),
			&Unknown{TypeName: "beelay", SenderID: "js"}},
		{"minimal headers decode too",
			[]byte{0xa2, 0x64, 't', 'y', 'p', 'e', 0x65, 'l', 'e', 'a', 'v', 'e', 0x68, 's', 'e', 'n', 'd', 'e', 'r', 'I', 'd', 0x61, 'a'},
			&Leave{SenderID: "a"}},
		{"indefinite-length map and byte string",
			append(append(cbx{0xbf}.kv("type", "sync").kv("senderId", "s").kv("targetId", "t").kv("documentId", "d").
				str("data"), 0x5f, 0x41, 0x42, 0x41, 0x00, 0xff), 0xff),
			&Sync{SenderID: "s", TargetID: "t", DocumentID: "d", Data: []byte{0x42, 0x00}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.frame)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("\n got %#v\nwant %#v", got, tt.want)
			}
			again, err := Encode(got)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if got2, err := Decode(again); err != nil || !reflect.DeepEqual(got2, got) {
				t.Fatalf("re-decode: %#v, %v", got2, err)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	syncFields := func(skip string) cbx {
		b := cbx{}.obj(5).kv("type", "sync")
		for _, k := range []string{"senderId", "targetId", "documentId", "data"} {
			switch {
			case k == skip:
				b = b.kv("other", "x")
			case k == "data":
				b = b.str("data").bin([]byte{0x42})
			default:
				b = b.kv(k, "v")
			}
		}
		return b
	}
	tests := []struct {
		name    string
		frame   []byte
		errText string // a substring of the error
	}{
		{"empty frame", nil, "empty frame"},
		{"garbage", []byte{0xff, 0xfe, 0x00}, "cbor"},
		{"truncated CBOR", cbx{}.obj(2).kv("type", "leave").str("senderId"), "unexpected EOF"},
		{"trailing bytes", append(cbx{}.obj(2).kv("type", "leave").kv("senderId", "a"), 0x00), "extraneous data"},
		{"top level array", cbx{}.arr(1).str("sync"), "cannot unmarshal array"},
		{"top level text", cbx{}.str("sync"), "cannot unmarshal"},
		{"no type", cbx{}.obj(1).kv("senderId", "a"), "message without type"},
		{"type null", cbx{}.obj(1).str("type").null(), "message without type"},
		{"type not text", cbx{}.obj(1).str("type").uint(3), "cannot unmarshal"},
		{"Type spelled wrong", cbx{}.obj(2).kv("Type", "leave").kv("senderId", "a"), "message without type"},
		{"sync without senderId", syncFields("senderId"), "sync message without senderId"},
		{"sync without targetId", syncFields("targetId"), "sync message without targetId"},
		{"sync without documentId", syncFields("documentId"), "sync message without documentId"},
		{"sync without data", syncFields("data"), "sync message without data"},
		{"sync with empty data", cbx{}.obj(5).kv("type", "sync").kv("senderId", "s").kv("targetId", "t").
			kv("documentId", "d").str("data").bin(nil), "sync message without data"},
		{"request with data as text", cbx{}.obj(5).kv("type", "request").kv("senderId", "s").kv("targetId", "t").
			kv("documentId", "d").kv("data", "BAA="), "request message: cbor: cannot unmarshal UTF-8 text string"},
		{"senderId as a number", cbx{}.obj(2).kv("type", "leave").str("senderId").uint(5), "leave message: cbor: cannot unmarshal"},
		{"documentId as bytes", cbx{}.obj(4).kv("type", "doc-unavailable").kv("senderId", "s").kv("targetId", "t").
			str("documentId").bin([]byte("d")), "cannot unmarshal byte string"},
		{"join without senderId", cbx{}.obj(1).kv("type", "join"), "join message without senderId"},
		{"join versions not an array", cbx{}.obj(3).kv("type", "join").kv("senderId", "s").kv("supportedProtocolVersions", "1"), "cannot unmarshal"},
		{"join versions numbers", cbx{}.obj(3).kv("type", "join").kv("senderId", "s").str("supportedProtocolVersions").arr(1).uint(1), "cannot unmarshal"},
		{"join storageId a number", cbx{}.obj(3).kv("type", "join").kv("senderId", "s").str("peerMetadata").obj(1).str("storageId").uint(1), "cannot unmarshal"},
		{"peer without selectedProtocolVersion", cbx{}.obj(3).kv("type", "peer").kv("senderId", "s").kv("targetId", "t"), "peer message without selectedProtocolVersion"},
		{"peer without targetId", cbx{}.obj(3).kv("type", "peer").kv("senderId", "s").kv("selectedProtocolVersion", "1"), "peer message without targetId"},
		{"error without message", cbx{}.obj(2).kv("type", "error").kv("senderId", "s"), "error message without message"},
		{"ephemeral without count", cbx{}.obj(6).kv("type", "ephemeral").kv("senderId", "s").kv("targetId", "t").
			kv("documentId", "d").kv("sessionId", "x").str("data").bin([]byte{0xa0}), "ephemeral message without count"},
		{"ephemeral without sessionId", cbx{}.obj(6).kv("type", "ephemeral").kv("senderId", "s").kv("targetId", "t").
			kv("documentId", "d").str("count").uint(1).str("data").bin([]byte{0xa0}), "ephemeral message without sessionId"},
		{"ephemeral negative count", cbx{}.obj(7).kv("type", "ephemeral").kv("senderId", "s").kv("targetId", "t").
			kv("documentId", "d").kv("sessionId", "x").str("count").head(1, 0).str("data").bin([]byte{0xa0}), "cannot unmarshal negative integer"},
		{"ephemeral float count", cbx{}.obj(7).kv("type", "ephemeral").kv("senderId", "s").kv("targetId", "t").
			kv("documentId", "d").kv("sessionId", "x").str("count").f64(1.5).str("data").bin([]byte{0xa0}), "cannot unmarshal"},
		{"duplicate senderId", cbx{}.obj(3).kv("type", "leave").kv("senderId", "a").kv("senderId", "b"), "duplicate map key"},
		{"duplicate type", cbx{}.obj(3).kv("type", "leave").kv("senderId", "a").kv("type", "sync"), "duplicate map key"},
		{"invalid UTF-8", cbx{}.obj(2).kv("type", "leave").kv("senderId", "a\xff"), "invalid UTF-8"},
		{"NaN timestamp", cbx{}.obj(5).kv("type", "remote-heads-changed").kv("senderId", "s").kv("targetId", "t").kv("documentId", "d").
			str("newHeads").obj(1).str("st").obj(1).str("timestamp").f64(math.NaN()), "NaN"},
		{"remote-heads-changed without documentId", cbx{}.obj(3).kv("type", "remote-heads-changed").kv("senderId", "s").kv("targetId", "t"),
			"remote-heads-changed message without documentId"},
		{"unknown type with a numeric senderId", cbx{}.obj(2).kv("type", "zzz").str("senderId").uint(1), "zzz message: cbor"},
		{"nesting too deep", cbx{}.obj(2).kv("type", "zzz").str("x").arr(1).arr(1).arr(1).arr(1).arr(1).arr(1).arr(1).arr(0), "exceeded max nested level"},
		{"array too long", append(cbx{}.obj(2).kv("type", "zzz").str("x").arr(5000), bytes.Repeat([]byte{0}, 5000)...), "exceeded max number of elements"},
		{"huge declared byte string", cbx{}.obj(2).kv("type", "zzz").str("x").head(2, 1<<40), "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode(tt.frame)
			if err == nil {
				t.Fatalf("Decode = %#v, want an error", m)
			}
			if !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("error %q does not wrap ErrInvalidMessage", err)
			}
			if !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("error %q does not contain %q", err, tt.errText)
			}
		})
	}
}

func TestEncodeValidates(t *testing.T) {
	tests := []struct {
		m       Message
		errText string
	}{
		{nil, "nil message"},
		{&Sync{SenderID: "a", TargetID: "b", Data: []byte{1}}, "sync message without documentId"},
		{&Request{SenderID: "a", TargetID: "b", DocumentID: "d"}, "request message without data"},
		{&Join{}, "join message without senderId"},
		{&Ephemeral{SenderID: "a", TargetID: "b", DocumentID: "d", Data: []byte{1}}, "ephemeral message without sessionId"},
		{&Unknown{TypeName: "sync"}, "known type"},
		{&Unknown{}, "message without type"},
		{&Leave{SenderID: "\xff"}, "invalid UTF-8"},
		{&RemoteHeadsChanged{SenderID: "a", TargetID: "b", DocumentID: "d",
			NewHeads: map[string]RemoteHeads{"x": {Timestamp: math.Inf(1)}}}, "non-finite"},
	}
	for _, tt := range tests {
		_, err := Encode(tt.m)
		if !errors.Is(err, ErrInvalidMessage) || !strings.Contains(fmtErr(err), tt.errText) {
			t.Errorf("Encode(%#v) = %v, want ErrInvalidMessage with %q", tt.m, err, tt.errText)
		}
	}
}

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestEncodeTooLarge(t *testing.T) {
	m := &Sync{SenderID: "a", TargetID: "b", DocumentID: "d", Data: make([]byte, MaxFrameSize-10)}
	if _, err := Encode(m); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("Encode of a frame just over the limit: %v, want ErrFrameTooLarge", err)
	}
	m.Data = m.Data[:MaxFrameSize-100]
	frame, err := Encode(m)
	if err != nil {
		t.Fatalf("Encode of a frame just under the limit: %v", err)
	}
	if len(frame) > MaxFrameSize {
		t.Fatalf("frame of %d bytes", len(frame))
	}
	m.Data = make([]byte, MaxFrameSize+1)
	if _, err := Encode(m); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("Encode of oversized data: %v, want ErrFrameTooLarge", err)
	}
}

func TestEncodeWireShape(t *testing.T) {
	// Keys are spelled exactly as automerge-repo spells them, nil slices go
	// out as empty arrays (never null), and an empty storageId is left out.
	frame, err := Encode(&Peer{SenderID: "a", TargetID: "b", SelectedProtocolVersion: "1"})
	if err != nil {
		t.Fatal(err)
	}
	want := cbx{}.head(5, 5).kv("type", "peer").kv("senderId", "a").kv("targetId", "b").
		str("peerMetadata").head(5, 0).kv("selectedProtocolVersion", "1")
	if !bytes.Equal(frame, want) {
		t.Errorf("peer frame\n got %x\nwant %x", frame, []byte(want))
	}
	frame, err = Encode(&RemoteHeadsChanged{SenderID: "a", TargetID: "b", DocumentID: "d",
		NewHeads: map[string]RemoteHeads{"s": {Timestamp: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(frame, cbx{}.str("heads").arr(0)) {
		t.Errorf("nil heads not sent as []: %x", frame)
	}
}

func TestEpochKeyOnlyWhenCut(t *testing.T) {
	// An automerge-repo peer never sees collabEpoch: epoch 0 leaves it out.
	frame, err := Encode(&Sync{SenderID: "a", TargetID: "b", DocumentID: "d", Data: []byte{0x42}})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(frame, []byte("collabEpoch")) {
		t.Errorf("epoch 0 sent: %x", frame)
	}
	frame, err = Encode(&Sync{SenderID: "a", TargetID: "b", DocumentID: "d", Data: []byte{0x42}, Epoch: 7})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.(*Sync).Epoch; got != 7 {
		t.Errorf("epoch %d after a round trip, want 7", got)
	}
	// An announcement names its epoch, heads and root.
	for _, bad := range []*CollabEpoch{
		{SenderID: "a", TargetID: "b", DocumentID: "d", Heads: []string{"x"}, Root: "r"},
		{SenderID: "a", TargetID: "b", DocumentID: "d", Epoch: 1, Root: "r"},
		{SenderID: "a", TargetID: "b", DocumentID: "d", Epoch: 1, Heads: []string{"x"}},
	} {
		if _, err := Encode(bad); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("Encode(%+v) = %v, want ErrInvalidMessage", bad, err)
		}
	}
}

func TestSelectProtocolVersion(t *testing.T) {
	for _, offered := range [][]string{nil, {"1"}, {"2", "1"}} {
		v, err := SelectProtocolVersion(offered)
		if err != nil || v != "1" {
			t.Errorf("SelectProtocolVersion(%q) = %q, %v; want \"1\"", offered, v, err)
		}
	}
	_, err := SelectProtocolVersion([]string{"2", "3"})
	if !errors.Is(err, ErrUnsupportedVersion) {
		t.Fatalf("error %v does not wrap ErrUnsupportedVersion", err)
	}
	if got, want := err.Error(), "unsupported protocol versions [2 3]; this peer speaks [1]"; got != want {
		t.Errorf("error text %q, want %q", got, want)
	}
	if _, err := SelectProtocolVersion([]string{}); err == nil {
		t.Error("an empty version list was accepted")
	}
	if err := AcceptProtocolVersion("1"); err != nil {
		t.Errorf("AcceptProtocolVersion(1): %v", err)
	}
	if err := AcceptProtocolVersion("2"); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("AcceptProtocolVersion(2) = %v", err)
	}
}

func TestMessageAccessors(t *testing.T) {
	for _, m := range allMessages() {
		if m.Type() == "" {
			t.Errorf("%#v: empty Type()", m)
		}
	}
	routes := []struct {
		m    Message
		want Route
	}{
		{&Ephemeral{SenderID: "s", TargetID: "t", DocumentID: "d"}, Route{"s", "t", "d"}},
		{&Sync{SenderID: "s", TargetID: "t", DocumentID: "d"}, Route{"s", "t", "d"}},
		{&CollabDoc{SenderID: "s", TargetID: "t", DocumentID: "d"}, Route{"s", "t", "d"}},
		{&Join{SenderID: "s"}, Route{Sender: "s"}},
		{&Peer{SenderID: "s", TargetID: "t"}, Route{Sender: "s", Target: "t"}},
		{&Leave{SenderID: "s"}, Route{Sender: "s"}},
		{&ErrorMessage{TargetID: "t", Message: "m"}, Route{Target: "t"}},
		{&Unknown{TypeName: "x", SenderID: "s", TargetID: "t"}, Route{Sender: "s", Target: "t"}},
	}
	for _, r := range routes {
		if got := RouteOf(r.m); got != r.want {
			t.Errorf("RouteOf(%#v) = %+v, want %+v", r.m, got, r.want)
		}
	}
}

// TestRequiredFields checks that every key a message type describes as
// required is refused when empty (Encode and Decode share the check).
func TestRequiredFields(t *testing.T) {
	for _, m := range allMessages() {
		for i, f := range m.fields() {
			if f.rule != required {
				continue
			}
			// The same message with field i cleared.
			blank := byType[m.Type()]()
			copyFields(blank, m, i)
			want := m.Type() + " message without " + f.key
			if _, err := Encode(blank); !errors.Is(err, ErrInvalidMessage) || !strings.Contains(err.Error(), want) {
				t.Errorf("Encode without %s: %v, want %q", f.key, err, want)
			}
		}
	}
}

// copyFields copies every described field of src into dst except field skip.
func copyFields(dst, src Message, skip int) {
	df, sf := dst.fields(), src.fields()
	for i := range sf {
		if i != skip {
			reflect.ValueOf(df[i].value).Elem().Set(reflect.ValueOf(sf[i].value).Elem())
		}
	}
}
