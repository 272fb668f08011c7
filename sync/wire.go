package sync

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// ProtocolID is the libp2p stream protocol the sync protocol runs on.
const ProtocolID = "/automerge-repo/1"

// ProtocolVersion is the automerge-repo protocol version this peer speaks,
// offered in join and selected in peer messages.
const ProtocolVersion = "1"

// Message type names, the value of the "type" key of every message.
const (
	MsgJoin                     = "join"
	MsgPeer                     = "peer"
	MsgError                    = "error"
	MsgLeave                    = "leave"
	MsgSync                     = "sync"
	MsgRequest                  = "request"
	MsgDocUnavailable           = "doc-unavailable"
	MsgEphemeral                = "ephemeral"
	MsgRemoteSubscriptionChange = "remote-subscription-change"
	MsgRemoteHeadsChanged       = "remote-heads-changed"
	// MsgCollabChange is collab's extension: one automerge change pushed
	// to a peer that advertised ExtChange (JS repos neither send nor get it).
	MsgCollabChange = "collab-change"
	// MsgCollabDoc is collab's extension: a whole automerge document (its
	// compact saved form) answering a request from a peer that has none of
	// it, instead of a sync message carrying every change one by one.
	MsgCollabDoc = "collab-doc"
)

// ExtChange is the collab extension a peer lists in PeerMetadata.Extensions
// to say it accepts collab-change messages.
const ExtChange = "collab-change/1"

// ExtDoc is the collab extension for collab-doc messages.
const ExtDoc = "collab-doc/1"

var (
	// ErrInvalidMessage reports a frame that is not a valid message: not
	// well-formed CBOR, not a map, a field of the wrong type, a duplicate
	// key, or a required field missing. Decode and Encode wrap it.
	ErrInvalidMessage = errors.New("invalid message")
	// ErrUnsupportedVersion reports that two peers share no protocol version.
	ErrUnsupportedVersion = errors.New("unsupported protocol versions")
)

// Message is one protocol message: one of *Join, *Peer, *ErrorMessage,
// *Leave, *Sync, *Request, *DocUnavailable, *Ephemeral, *CollabChange, *CollabDoc,
// *RemoteSubscriptionChange, *RemoteHeadsChanged or *Unknown.
type Message interface {
	// Type returns the message's "type" value, e.g. "sync".
	Type() string
	// Sender returns the senderId ("" if the message has none).
	Sender() string
	// Target returns the targetId ("" if the message has none).
	Target() string

	validate() error
	wire() any
}

// PeerMetadata is what a peer tells about itself in join and peer.
type PeerMetadata struct {
	// StorageID identifies the peer's storage, if it persists documents;
	// "" when absent (JS may send CBOR undefined).
	StorageID string `cbor:"storageId,omitempty"`
	// IsEphemeral tells that the peer keeps nothing, so its sync state need
	// not be remembered.
	IsEphemeral bool `cbor:"isEphemeral,omitempty"`
	// Extensions lists the collab extensions the peer speaks (ExtChange);
	// automerge-repo ignores the key.
	Extensions []string `cbor:"collabExtensions,omitempty"`
}

// Join opens a stream: the connecting side sends it first.
type Join struct {
	SenderID     string
	PeerMetadata PeerMetadata
	// SupportedProtocolVersions lists the versions the sender speaks. nil
	// means the key was absent, which automerge-repo reads as ["1"]; an empty
	// non-nil slice is sent as an empty array.
	SupportedProtocolVersions []string
}

// Peer accepts a Join.
type Peer struct {
	SenderID                string
	TargetID                string
	PeerMetadata            PeerMetadata
	SelectedProtocolVersion string
}

// ErrorMessage refuses a Join (or reports a fatal problem); the sender closes
// the stream after it. SenderID and TargetID are optional.
type ErrorMessage struct {
	SenderID string
	TargetID string
	Message  string
}

// Leave announces that the sender is going away (automerge-repo's websocket
// client sends it); the receiver closes the stream.
type Leave struct {
	SenderID string
}

// Sync carries one automerge sync message (Data) for a document.
type Sync struct {
	SenderID   string
	TargetID   string
	DocumentID string
	Data       []byte
}

// Request is a Sync sent by a peer that lacks the document and asks for it.
type Request struct {
	SenderID   string
	TargetID   string
	DocumentID string
	Data       []byte
}

// DocUnavailable answers a Request for a document the sender does not have.
type DocUnavailable struct {
	SenderID   string
	TargetID   string
	DocumentID string
}

// Ephemeral carries application data (Data, itself CBOR, e.g. presence) about
// a document. SenderID is the originator, kept unchanged when relayed;
// (SenderID, SessionID, Count) identifies the message for de-duplication.
type Ephemeral struct {
	SenderID   string
	TargetID   string
	DocumentID string
	SessionID  string
	Count      uint64
	Data       []byte
}

// CollabChange pushes one automerge change (Data: the change's bytes, as
// automerge's loadIncremental takes them) of a document to a collab peer.
type CollabChange struct {
	SenderID   string
	TargetID   string
	DocumentID string
	Data       []byte
}

// CollabDoc carries a whole document (Data: automerge's saved form) to a
// collab peer that asked for a note it has nothing of.
type CollabDoc struct {
	SenderID   string
	TargetID   string
	DocumentID string
	Data       []byte
}

// RemoteSubscriptionChange is automerge-repo's remote-heads subscription
// control; collab decodes and ignores it.
type RemoteSubscriptionChange struct {
	SenderID string
	TargetID string
	Add      []string // storage IDs; nil when absent or empty
	Remove   []string // storage IDs; nil when absent or empty
}

// RemoteHeads is one entry of RemoteHeadsChanged.NewHeads.
type RemoteHeads struct {
	Heads     []string `cbor:"heads"`     // hex change hashes; nil when empty
	Timestamp float64  `cbor:"timestamp"` // ms since the epoch
}

// RemoteHeadsChanged is automerge-repo's remote-heads gossip; collab decodes
// and ignores it.
type RemoteHeadsChanged struct {
	SenderID   string
	TargetID   string
	DocumentID string
	NewHeads   map[string]RemoteHeads // by storage ID; nil when absent or empty
}

// Unknown is a message of a type this peer does not know. Receivers drop it
// without closing the stream.
type Unknown struct {
	TypeName string
	SenderID string // "" if absent
	TargetID string // "" if absent
}

func (*Join) Type() string                     { return MsgJoin }
func (*Peer) Type() string                     { return MsgPeer }
func (*ErrorMessage) Type() string             { return MsgError }
func (*Leave) Type() string                    { return MsgLeave }
func (*Sync) Type() string                     { return MsgSync }
func (*Request) Type() string                  { return MsgRequest }
func (*DocUnavailable) Type() string           { return MsgDocUnavailable }
func (*Ephemeral) Type() string                { return MsgEphemeral }
func (*RemoteSubscriptionChange) Type() string { return MsgRemoteSubscriptionChange }
func (*RemoteHeadsChanged) Type() string       { return MsgRemoteHeadsChanged }
func (*CollabChange) Type() string             { return MsgCollabChange }
func (*CollabDoc) Type() string                { return MsgCollabDoc }
func (m *Unknown) Type() string                { return m.TypeName }

func (m *Join) Sender() string                     { return m.SenderID }
func (m *Peer) Sender() string                     { return m.SenderID }
func (m *ErrorMessage) Sender() string             { return m.SenderID }
func (m *Leave) Sender() string                    { return m.SenderID }
func (m *Sync) Sender() string                     { return m.SenderID }
func (m *Request) Sender() string                  { return m.SenderID }
func (m *DocUnavailable) Sender() string           { return m.SenderID }
func (m *Ephemeral) Sender() string                { return m.SenderID }
func (m *RemoteSubscriptionChange) Sender() string { return m.SenderID }
func (m *RemoteHeadsChanged) Sender() string       { return m.SenderID }
func (m *CollabChange) Sender() string             { return m.SenderID }
func (m *CollabDoc) Sender() string                { return m.SenderID }
func (m *Unknown) Sender() string                  { return m.SenderID }

func (*Join) Target() string                       { return "" }
func (m *Peer) Target() string                     { return m.TargetID }
func (m *ErrorMessage) Target() string             { return m.TargetID }
func (*Leave) Target() string                      { return "" }
func (m *Sync) Target() string                     { return m.TargetID }
func (m *Request) Target() string                  { return m.TargetID }
func (m *DocUnavailable) Target() string           { return m.TargetID }
func (m *Ephemeral) Target() string                { return m.TargetID }
func (m *RemoteSubscriptionChange) Target() string { return m.TargetID }
func (m *RemoteHeadsChanged) Target() string       { return m.TargetID }
func (m *CollabChange) Target() string             { return m.TargetID }
func (m *CollabDoc) Target() string                { return m.TargetID }
func (m *Unknown) Target() string                  { return m.TargetID }

// Wire forms: the CBOR maps exactly as automerge-repo spells them. Pointers
// tell an absent (or null/undefined) key from a present one where it matters.

type wireJoin struct {
	Type                      string       `cbor:"type"`
	SenderID                  string       `cbor:"senderId"`
	PeerMetadata              PeerMetadata `cbor:"peerMetadata"`
	SupportedProtocolVersions *[]string    `cbor:"supportedProtocolVersions,omitempty"`
}

type wirePeer struct {
	Type                    string       `cbor:"type"`
	SenderID                string       `cbor:"senderId"`
	TargetID                string       `cbor:"targetId"`
	PeerMetadata            PeerMetadata `cbor:"peerMetadata"`
	SelectedProtocolVersion string       `cbor:"selectedProtocolVersion"`
}

type wireError struct {
	Type     string  `cbor:"type"`
	SenderID string  `cbor:"senderId,omitempty"`
	TargetID string  `cbor:"targetId,omitempty"`
	Message  *string `cbor:"message"`
}

type wireLeave struct {
	Type     string `cbor:"type"`
	SenderID string `cbor:"senderId"`
}

type wireSync struct {
	Type       string `cbor:"type"`
	SenderID   string `cbor:"senderId"`
	TargetID   string `cbor:"targetId"`
	DocumentID string `cbor:"documentId"`
	Data       []byte `cbor:"data"`
}

type wireDocUnavailable struct {
	Type       string `cbor:"type"`
	SenderID   string `cbor:"senderId"`
	TargetID   string `cbor:"targetId"`
	DocumentID string `cbor:"documentId"`
}

type wireEphemeral struct {
	Type       string  `cbor:"type"`
	SenderID   string  `cbor:"senderId"`
	TargetID   string  `cbor:"targetId"`
	DocumentID string  `cbor:"documentId"`
	SessionID  string  `cbor:"sessionId"`
	Count      *uint64 `cbor:"count"`
	Data       []byte  `cbor:"data"`
}

type wireRemoteSubscriptionChange struct {
	Type     string   `cbor:"type"`
	SenderID string   `cbor:"senderId"`
	TargetID string   `cbor:"targetId"`
	Add      []string `cbor:"add,omitempty"`
	Remove   []string `cbor:"remove,omitempty"`
}

type wireRemoteHeadsChanged struct {
	Type       string                 `cbor:"type"`
	SenderID   string                 `cbor:"senderId"`
	TargetID   string                 `cbor:"targetId"`
	DocumentID string                 `cbor:"documentId"`
	NewHeads   map[string]RemoteHeads `cbor:"newHeads,omitempty"`
}

type wireUnknown struct {
	Type     string `cbor:"type"`
	SenderID string `cbor:"senderId,omitempty"`
	TargetID string `cbor:"targetId,omitempty"`
}

type wireHeader struct {
	Type *string `cbor:"type"`
}

func (m *Join) wire() any {
	w := &wireJoin{Type: MsgJoin, SenderID: m.SenderID, PeerMetadata: m.PeerMetadata}
	if m.SupportedProtocolVersions != nil {
		w.SupportedProtocolVersions = &m.SupportedProtocolVersions
	}
	return w
}

func (m *Peer) wire() any {
	return &wirePeer{MsgPeer, m.SenderID, m.TargetID, m.PeerMetadata, m.SelectedProtocolVersion}
}

func (m *ErrorMessage) wire() any {
	return &wireError{MsgError, m.SenderID, m.TargetID, &m.Message}
}

func (m *Leave) wire() any { return &wireLeave{MsgLeave, m.SenderID} }

func (m *Sync) wire() any {
	return &wireSync{MsgSync, m.SenderID, m.TargetID, m.DocumentID, m.Data}
}

func (m *Request) wire() any {
	return &wireSync{MsgRequest, m.SenderID, m.TargetID, m.DocumentID, m.Data}
}

func (m *CollabChange) wire() any {
	return &wireSync{MsgCollabChange, m.SenderID, m.TargetID, m.DocumentID, m.Data}
}

func (m *CollabDoc) wire() any {
	return &wireSync{MsgCollabDoc, m.SenderID, m.TargetID, m.DocumentID, m.Data}
}

func (m *DocUnavailable) wire() any {
	return &wireDocUnavailable{MsgDocUnavailable, m.SenderID, m.TargetID, m.DocumentID}
}

func (m *Ephemeral) wire() any {
	return &wireEphemeral{MsgEphemeral, m.SenderID, m.TargetID, m.DocumentID, m.SessionID, &m.Count, m.Data}
}

func (m *RemoteSubscriptionChange) wire() any {
	return &wireRemoteSubscriptionChange{MsgRemoteSubscriptionChange, m.SenderID, m.TargetID, m.Add, m.Remove}
}

func (m *RemoteHeadsChanged) wire() any {
	return &wireRemoteHeadsChanged{MsgRemoteHeadsChanged, m.SenderID, m.TargetID, m.DocumentID, m.NewHeads}
}

func (m *Unknown) wire() any { return &wireUnknown{m.TypeName, m.SenderID, m.TargetID} }

// Validation, shared by Decode and Encode so that whatever one accepts the
// other does too.

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidMessage}, args...)...)
}

// field is a named string field of a message, for validation.
type field struct {
	name, value string
}

// require reports the first of fields that is empty: absent, null, undefined
// or "" (an empty id is as useless as a missing one).
func require(typ string, fields ...field) error {
	for _, f := range fields {
		if f.value == "" {
			return invalidf("%s message without %s", typ, f.name)
		}
	}
	return nil
}

func checkUTF8(typ string, values ...string) error {
	for _, v := range values {
		if !utf8.ValidString(v) {
			return invalidf("%s message with invalid UTF-8 text", typ)
		}
	}
	return nil
}

func requireData(typ string, data []byte) error {
	if len(data) == 0 {
		return invalidf("%s message without data", typ)
	}
	return nil
}

func (m *Join) validate() error {
	if err := require(MsgJoin, field{"senderId", m.SenderID}); err != nil {
		return err
	}
	return checkUTF8(MsgJoin, slices.Concat([]string{m.SenderID, m.PeerMetadata.StorageID}, m.SupportedProtocolVersions, m.PeerMetadata.Extensions)...)
}

func (m *Peer) validate() error {
	if err := require(MsgPeer, field{"senderId", m.SenderID}, field{"targetId", m.TargetID},
		field{"selectedProtocolVersion", m.SelectedProtocolVersion}); err != nil {
		return err
	}
	return checkUTF8(MsgPeer, slices.Concat([]string{m.SenderID, m.TargetID, m.PeerMetadata.StorageID, m.SelectedProtocolVersion}, m.PeerMetadata.Extensions)...)
}

func (m *ErrorMessage) validate() error {
	return checkUTF8(MsgError, m.SenderID, m.TargetID, m.Message)
}

func (m *Leave) validate() error {
	if err := require(MsgLeave, field{"senderId", m.SenderID}); err != nil {
		return err
	}
	return checkUTF8(MsgLeave, m.SenderID)
}

func validateSync(typ, sender, target, doc string, data []byte) error {
	if err := require(typ, field{"senderId", sender}, field{"targetId", target}, field{"documentId", doc}); err != nil {
		return err
	}
	if err := requireData(typ, data); err != nil {
		return err
	}
	return checkUTF8(typ, sender, target, doc)
}

func (m *Sync) validate() error {
	return validateSync(MsgSync, m.SenderID, m.TargetID, m.DocumentID, m.Data)
}

func (m *Request) validate() error {
	return validateSync(MsgRequest, m.SenderID, m.TargetID, m.DocumentID, m.Data)
}

func (m *CollabChange) validate() error {
	return validateSync(MsgCollabChange, m.SenderID, m.TargetID, m.DocumentID, m.Data)
}

func (m *CollabDoc) validate() error {
	return validateSync(MsgCollabDoc, m.SenderID, m.TargetID, m.DocumentID, m.Data)
}

func (m *DocUnavailable) validate() error {
	if err := require(MsgDocUnavailable, field{"senderId", m.SenderID}, field{"targetId", m.TargetID},
		field{"documentId", m.DocumentID}); err != nil {
		return err
	}
	return checkUTF8(MsgDocUnavailable, m.SenderID, m.TargetID, m.DocumentID)
}

func (m *Ephemeral) validate() error {
	if err := require(MsgEphemeral, field{"senderId", m.SenderID}, field{"targetId", m.TargetID},
		field{"documentId", m.DocumentID}, field{"sessionId", m.SessionID}); err != nil {
		return err
	}
	if err := requireData(MsgEphemeral, m.Data); err != nil {
		return err
	}
	return checkUTF8(MsgEphemeral, m.SenderID, m.TargetID, m.DocumentID, m.SessionID)
}

func (m *RemoteSubscriptionChange) validate() error {
	if err := require(MsgRemoteSubscriptionChange, field{"senderId", m.SenderID}, field{"targetId", m.TargetID}); err != nil {
		return err
	}
	return checkUTF8(MsgRemoteSubscriptionChange, slices.Concat([]string{m.SenderID, m.TargetID}, m.Add, m.Remove)...)
}

func (m *RemoteHeadsChanged) validate() error {
	typ := MsgRemoteHeadsChanged
	if err := require(typ, field{"senderId", m.SenderID}, field{"targetId", m.TargetID},
		field{"documentId", m.DocumentID}); err != nil {
		return err
	}
	if err := checkUTF8(typ, m.SenderID, m.TargetID, m.DocumentID); err != nil {
		return err
	}
	for k, v := range m.NewHeads {
		if err := checkUTF8(typ, append([]string{k}, v.Heads...)...); err != nil {
			return err
		}
		if math.IsNaN(v.Timestamp) || math.IsInf(v.Timestamp, 0) {
			return invalidf("%s message with a non-finite timestamp", typ)
		}
	}
	return nil
}

func (m *Unknown) validate() error {
	if m.TypeName == "" {
		return invalidf("message without type")
	}
	if known(m.TypeName) {
		return invalidf("unknown message with the known type %q", m.TypeName)
	}
	return checkUTF8(m.TypeName, m.TypeName, m.SenderID, m.TargetID)
}

func known(typ string) bool {
	switch typ {
	case MsgJoin, MsgPeer, MsgError, MsgLeave, MsgSync, MsgRequest, MsgDocUnavailable,
		MsgEphemeral, MsgRemoteSubscriptionChange, MsgRemoteHeadsChanged, MsgCollabChange, MsgCollabDoc:
		return true
	}
	return false
}

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
	decMode, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		FieldNameMatching: cbor.FieldNameMatchingCaseSensitive,
		MaxNestedLevels:   8,    // deepest message: remote-heads-changed, 4 levels
		MaxArrayElements:  4096, // supportedProtocolVersions, heads, add/remove
		MaxMapPairs:       1024, // a message map, newHeads
		NaN:               cbor.NaNDecodeForbidden,
		Inf:               cbor.InfDecodeForbidden,
	}.DecMode()
	if err != nil {
		panic(fmt.Sprintf("sync: cbor decode options: %v", err))
	}
	// Nil slices and maps go out as empty ones, never as null, which
	// JavaScript code would trip over.
	encMode, err = cbor.EncOptions{NilContainers: cbor.NilContainerAsEmpty}.EncMode()
	if err != nil {
		panic(fmt.Sprintf("sync: cbor encode options: %v", err))
	}
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
	var h wireHeader
	if err := decMode.Unmarshal(frame, &h); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	if h.Type == nil || *h.Type == "" {
		return nil, invalidf("message without type")
	}
	typ := *h.Type
	var m Message
	switch typ {
	case MsgJoin:
		var w wireJoin
		if err := unmarshal(frame, typ, &w); err != nil {
			return nil, err
		}
		j := &Join{SenderID: w.SenderID, PeerMetadata: w.PeerMetadata}
		if w.SupportedProtocolVersions != nil {
			j.SupportedProtocolVersions = *w.SupportedProtocolVersions
			if j.SupportedProtocolVersions == nil {
				j.SupportedProtocolVersions = []string{}
			}
		}
		m = j
	case MsgPeer:
		var w wirePeer
		if err := unmarshal(frame, typ, &w); err != nil {
			return nil, err
		}
		m = &Peer{w.SenderID, w.TargetID, w.PeerMetadata, w.SelectedProtocolVersion}
	case MsgError:
		var w wireError
		if err := unmarshal(frame, typ, &w); err != nil {
			return nil, err
		}
		if w.Message == nil {
			return nil, invalidf("error message without message")
		}
		m = &ErrorMessage{w.SenderID, w.TargetID, *w.Message}
	case MsgLeave:
		var w wireLeave
		if err := unmarshal(frame, typ, &w); err != nil {
			return nil, err
		}
		m = &Leave{w.SenderID}
	case MsgSync, MsgRequest, MsgCollabChange, MsgCollabDoc:
		var w wireSync
		if err := unmarshal(frame, typ, &w); err != nil {
			return nil, err
		}
		switch typ {
		case MsgSync:
			m = &Sync{w.SenderID, w.TargetID, w.DocumentID, w.Data}
		case MsgRequest:
			m = &Request{w.SenderID, w.TargetID, w.DocumentID, w.Data}
		case MsgCollabChange:
			m = &CollabChange{w.SenderID, w.TargetID, w.DocumentID, w.Data}
		default:
			m = &CollabDoc{w.SenderID, w.TargetID, w.DocumentID, w.Data}
		}
	case MsgDocUnavailable:
		var w wireDocUnavailable
		if err := unmarshal(frame, typ, &w); err != nil {
			return nil, err
		}
		m = &DocUnavailable{w.SenderID, w.TargetID, w.DocumentID}
	case MsgEphemeral:
		var w wireEphemeral
		if err := unmarshal(frame, typ, &w); err != nil {
			return nil, err
		}
		if w.Count == nil {
			return nil, invalidf("ephemeral message without count")
		}
		m = &Ephemeral{w.SenderID, w.TargetID, w.DocumentID, w.SessionID, *w.Count, w.Data}
	case MsgRemoteSubscriptionChange:
		var w wireRemoteSubscriptionChange
		if err := unmarshal(frame, typ, &w); err != nil {
			return nil, err
		}
		m = &RemoteSubscriptionChange{w.SenderID, w.TargetID, nilIfEmpty(w.Add), nilIfEmpty(w.Remove)}
	case MsgRemoteHeadsChanged:
		var w wireRemoteHeadsChanged
		if err := unmarshal(frame, typ, &w); err != nil {
			return nil, err
		}
		var heads map[string]RemoteHeads
		if len(w.NewHeads) > 0 {
			heads = make(map[string]RemoteHeads, len(w.NewHeads))
			for k, v := range w.NewHeads {
				heads[k] = RemoteHeads{Heads: nilIfEmpty(v.Heads), Timestamp: v.Timestamp}
			}
		}
		m = &RemoteHeadsChanged{w.SenderID, w.TargetID, w.DocumentID, heads}
	default:
		var w wireUnknown
		if err := unmarshal(frame, typ, &w); err != nil {
			return nil, err
		}
		m = &Unknown{typ, w.SenderID, w.TargetID}
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return m, nil
}

func unmarshal(frame []byte, typ string, v any) error {
	if err := decMode.Unmarshal(frame, v); err != nil {
		return fmt.Errorf("%w: %s message: %w", ErrInvalidMessage, typ, err)
	}
	return nil
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// Encode validates m by the rules Decode applies and encodes it as one frame
// body: a CBOR map with automerge-repo's key names. It returns an error
// wrapping ErrInvalidMessage for an invalid message and ErrFrameTooLarge when
// the result would exceed MaxFrameSize.
func Encode(m Message) ([]byte, error) {
	if m == nil {
		return nil, invalidf("nil message")
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	var data []byte
	switch m := m.(type) {
	case *Sync:
		data = m.Data
	case *Request:
		data = m.Data
	case *Ephemeral:
		data = m.Data
	case *CollabChange:
		data = m.Data
	case *CollabDoc:
		data = m.Data
	}
	if len(data) > MaxFrameSize {
		return nil, fmt.Errorf("encode %s message: %w: data of %d bytes exceeds %d", m.Type(), ErrFrameTooLarge, len(data), MaxFrameSize)
	}
	frame, err := encMode.Marshal(m.wire())
	if err != nil {
		return nil, fmt.Errorf("encode %s message: %w", m.Type(), err)
	}
	if len(frame) > MaxFrameSize {
		return nil, fmt.Errorf("encode %s message: %w: length %d exceeds %d", m.Type(), ErrFrameTooLarge, len(frame), MaxFrameSize)
	}
	return frame, nil
}

// SelectProtocolVersion is the accepting side's handshake decision: given a
// join's supportedProtocolVersions it returns the version to put in the peer
// reply, or an error whose text goes into the error reply, e.g.
// "unsupported protocol versions [2 3]; this peer speaks [1]". A nil list
// (key absent) means "1", as automerge-repo reads it.
func SelectProtocolVersion(supported []string) (string, error) {
	if supported == nil || slices.Contains(supported, ProtocolVersion) {
		return ProtocolVersion, nil
	}
	return "", fmt.Errorf("%w %v; this peer speaks [%s]", ErrUnsupportedVersion, supported, ProtocolVersion)
}

// AcceptProtocolVersion is the connecting side's check of a peer reply's
// selectedProtocolVersion.
func AcceptProtocolVersion(selected string) error {
	if selected == ProtocolVersion {
		return nil
	}
	return fmt.Errorf("%w: the other peer selected %q; this peer speaks [%s]", ErrUnsupportedVersion, selected, ProtocolVersion)
}
