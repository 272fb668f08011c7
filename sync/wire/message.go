package wire

// ProtocolID is the libp2p stream protocol the sync protocol runs on.
const ProtocolID = "/automerge-repo/1"

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
	// MsgCollabHeads is collab's extension: the sender's heads of a
	// document, sent (at most every 100 ms) whenever they change, so both
	// sides know when they hold the same note without a sync round.
	MsgCollabHeads = "collab-heads"
	// MsgCollabHeadsList is collab's extension: the sender's heads of
	// many documents in one message (at connect, of every note the two
	// peers share), packed in binary (HeadsList).
	MsgCollabHeadsList = "collab-heads-list"
	// MsgCollabEpoch is collab's extension: the note's history was cut,
	// and epoch Epoch of it began at Heads of the epoch before with the
	// change Root (PROTOCOL.md 9.5).
	MsgCollabEpoch = "collab-epoch"
)

// ExtChange is the collab extension a peer lists in PeerMetadata.Extensions
// to say it accepts collab-change messages.
const ExtChange = "collab-change/1"

// ExtDoc is the collab extension for collab-doc messages.
const ExtDoc = "collab-doc/1"

// ExtHeads is the collab extension for collab-heads messages.
const ExtHeads = "collab-heads/1"

// ExtHeadsList is the collab extension for collab-heads-list messages.
const ExtHeadsList = "collab-heads-list/1"

// ExtEpoch is the collab extension for epochs: collab-epoch messages, and
// the collabEpoch key of note messages.
const ExtEpoch = "collab-epoch/1"

// Message is one protocol message: one of *Join, *Peer, *ErrorMessage,
// *Leave, *Sync, *Request, *DocUnavailable, *Ephemeral, *CollabChange,
// *CollabDoc, *CollabHeads, *CollabHeadsList, *CollabEpoch, *RemoteSubscriptionChange, *RemoteHeadsChanged or *Unknown.
//
// Each type describes its CBOR map once, in its fields method: the keys
// as automerge-repo spells them, in the order they are sent, and whether
// each is required. Decode, Encode, validation and RouteOf all follow from
// that description (codec.go), so a new message type is its struct, its
// Type and its fields, plus a line in knownTypes.
type Message interface {
	// Type returns the message's "type" value, e.g. "sync".
	Type() string

	fields() []field
}

// knownTypes makes an empty message of every type this peer knows; Decode
// picks one by its Type.
var knownTypes = []func() Message{
	func() Message { return new(Join) },
	func() Message { return new(Peer) },
	func() Message { return new(ErrorMessage) },
	func() Message { return new(Leave) },
	func() Message { return new(Sync) },
	func() Message { return new(Request) },
	func() Message { return new(DocUnavailable) },
	func() Message { return new(Ephemeral) },
	func() Message { return new(CollabChange) },
	func() Message { return new(CollabDoc) },
	func() Message { return new(CollabHeads) },
	func() Message { return new(CollabHeadsList) },
	func() Message { return new(CollabEpoch) },
	func() Message { return new(RemoteSubscriptionChange) },
	func() Message { return new(RemoteHeadsChanged) },
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

func (*Join) Type() string { return MsgJoin }
func (m *Join) fields() []field {
	return []field{
		{"senderId", &m.SenderID, required},
		{"peerMetadata", &m.PeerMetadata, always},
		{"supportedProtocolVersions", &m.SupportedProtocolVersions, nilable},
	}
}

// Peer accepts a Join.
type Peer struct {
	SenderID                string
	TargetID                string
	PeerMetadata            PeerMetadata
	SelectedProtocolVersion string
}

func (*Peer) Type() string { return MsgPeer }
func (m *Peer) fields() []field {
	return []field{
		{"senderId", &m.SenderID, required},
		{"targetId", &m.TargetID, required},
		{"peerMetadata", &m.PeerMetadata, always},
		{"selectedProtocolVersion", &m.SelectedProtocolVersion, required},
	}
}

// ErrorMessage refuses a Join (or reports a fatal problem); the sender closes
// the stream after it. SenderID and TargetID are optional.
type ErrorMessage struct {
	SenderID string
	TargetID string
	Message  string
}

func (*ErrorMessage) Type() string { return MsgError }
func (m *ErrorMessage) fields() []field {
	return []field{
		{"senderId", &m.SenderID, optional},
		{"targetId", &m.TargetID, optional},
		{"message", &m.Message, present},
	}
}

// Leave announces that the sender is going away (automerge-repo's websocket
// client sends it); the receiver closes the stream.
type Leave struct {
	SenderID string
}

func (*Leave) Type() string { return MsgLeave }
func (m *Leave) fields() []field {
	return []field{{"senderId", &m.SenderID, required}}
}

// Sync, Request, CollabChange and CollabDoc have the same fields on purpose:
// each is its own message type (a type switch tells them apart), with the
// shape documentData describes.

// Sync carries one automerge sync message (Data) for a document.
type Sync struct {
	SenderID   string
	TargetID   string
	DocumentID string
	Data       []byte
	// Epoch is the note's epoch the data belongs to (0, and not sent, for
	// the first; only between peers that speak ExtEpoch).
	Epoch uint64
}

func (*Sync) Type() string { return MsgSync }
func (m *Sync) fields() []field {
	return documentData(&m.SenderID, &m.TargetID, &m.DocumentID, &m.Data, &m.Epoch)
}

// Request is a Sync sent by a peer that lacks the document and asks for it.
type Request struct {
	SenderID   string
	TargetID   string
	DocumentID string
	Data       []byte
	// Epoch is the note's epoch the data belongs to (0, and not sent, for
	// the first; only between peers that speak ExtEpoch).
	Epoch uint64
}

func (*Request) Type() string { return MsgRequest }
func (m *Request) fields() []field {
	return documentData(&m.SenderID, &m.TargetID, &m.DocumentID, &m.Data, &m.Epoch)
}

// CollabChange pushes one automerge change (Data: the change's bytes, as
// automerge's loadIncremental takes them) of a document to a collab peer.
type CollabChange struct {
	SenderID   string
	TargetID   string
	DocumentID string
	Data       []byte
	// Epoch is the note's epoch the data belongs to (0, and not sent, for
	// the first; only between peers that speak ExtEpoch).
	Epoch uint64
}

func (*CollabChange) Type() string { return MsgCollabChange }
func (m *CollabChange) fields() []field {
	return documentData(&m.SenderID, &m.TargetID, &m.DocumentID, &m.Data, &m.Epoch)
}

// CollabDoc carries a whole document (Data: automerge's saved form) to a
// collab peer that asked for a note it has nothing of.
type CollabDoc struct {
	SenderID   string
	TargetID   string
	DocumentID string
	Data       []byte
	// Epoch is the note's epoch the data belongs to (0, and not sent, for
	// the first; only between peers that speak ExtEpoch).
	Epoch uint64
}

func (*CollabDoc) Type() string { return MsgCollabDoc }
func (m *CollabDoc) fields() []field {
	return documentData(&m.SenderID, &m.TargetID, &m.DocumentID, &m.Data, &m.Epoch)
}

// CollabHeads tells a collab peer the sender's heads of a document: hex
// change hashes, empty for a document with no changes.
type CollabHeads struct {
	SenderID   string
	TargetID   string
	DocumentID string
	Heads      []string
	Epoch      uint64 // the epoch the heads are in (as in Sync)
}

func (*CollabHeads) Type() string { return MsgCollabHeads }
func (m *CollabHeads) fields() []field {
	return []field{
		{"senderId", &m.SenderID, required},
		{"targetId", &m.TargetID, required},
		{"documentId", &m.DocumentID, required},
		{"heads", &m.Heads, nilable},
		{"collabEpoch", &m.Epoch, optional},
	}
}

// CollabEpoch tells a collab peer that epoch Epoch (≥ 1) of a note began
// at Heads (hex change hashes) of epoch Epoch-1, with the change Root.
// Every peer that holds Heads builds the same Root (crdt/amformat/epoch.go),
// so the receiver checks the claim by building it.
type CollabEpoch struct {
	SenderID   string
	TargetID   string
	DocumentID string
	Epoch      uint64
	Heads      []string
	Root       string
}

func (*CollabEpoch) Type() string { return MsgCollabEpoch }
func (m *CollabEpoch) fields() []field {
	return []field{
		{"senderId", &m.SenderID, required},
		{"targetId", &m.TargetID, required},
		{"documentId", &m.DocumentID, required},
		{"epoch", &m.Epoch, required},
		{"heads", &m.Heads, required},
		{"root", &m.Root, required},
	}
}

// CollabHeadsList tells a collab peer the sender's heads of many documents
// at once: Data packs them (EncodeHeadsList, DecodeHeadsList).
type CollabHeadsList struct {
	SenderID string
	TargetID string
	Data     []byte
}

func (*CollabHeadsList) Type() string { return MsgCollabHeadsList }
func (m *CollabHeadsList) fields() []field {
	return []field{
		{"senderId", &m.SenderID, required},
		{"targetId", &m.TargetID, required},
		{"data", &m.Data, required},
	}
}

// documentData is the shape of sync, request, collab-change and collab-doc:
// automerge bytes about one document.
func documentData(sender, target, document *string, data *[]byte, epoch *uint64) []field {
	return []field{
		{"senderId", sender, required},
		{"targetId", target, required},
		{"documentId", document, required},
		{"data", data, required},
		{"collabEpoch", epoch, optional},
	}
}

// DocUnavailable answers a Request for a document the sender does not have.
type DocUnavailable struct {
	SenderID   string
	TargetID   string
	DocumentID string
}

func (*DocUnavailable) Type() string { return MsgDocUnavailable }
func (m *DocUnavailable) fields() []field {
	return []field{
		{"senderId", &m.SenderID, required},
		{"targetId", &m.TargetID, required},
		{"documentId", &m.DocumentID, required},
	}
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

func (*Ephemeral) Type() string { return MsgEphemeral }
func (m *Ephemeral) fields() []field {
	return []field{
		{"senderId", &m.SenderID, required},
		{"targetId", &m.TargetID, required},
		{"documentId", &m.DocumentID, required},
		{"sessionId", &m.SessionID, required},
		{"count", &m.Count, present},
		{"data", &m.Data, required},
	}
}

// RemoteSubscriptionChange is automerge-repo's remote-heads subscription
// control; collab decodes and ignores it.
type RemoteSubscriptionChange struct {
	SenderID string
	TargetID string
	Add      []string // storage IDs; nil when absent or empty
	Remove   []string // storage IDs; nil when absent or empty
}

func (*RemoteSubscriptionChange) Type() string { return MsgRemoteSubscriptionChange }
func (m *RemoteSubscriptionChange) fields() []field {
	return []field{
		{"senderId", &m.SenderID, required},
		{"targetId", &m.TargetID, required},
		{"add", &m.Add, optional},
		{"remove", &m.Remove, optional},
	}
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

func (*RemoteHeadsChanged) Type() string { return MsgRemoteHeadsChanged }
func (m *RemoteHeadsChanged) fields() []field {
	return []field{
		{"senderId", &m.SenderID, required},
		{"targetId", &m.TargetID, required},
		{"documentId", &m.DocumentID, required},
		{"newHeads", &m.NewHeads, optional},
	}
}

// Unknown is a message of a type this peer does not know. Receivers drop it
// without closing the stream.
type Unknown struct {
	TypeName string
	SenderID string // "" if absent
	TargetID string // "" if absent
}

func (m *Unknown) Type() string { return m.TypeName }
func (m *Unknown) fields() []field {
	return []field{
		{"senderId", &m.SenderID, optional},
		{"targetId", &m.TargetID, optional},
	}
}

// Route is what a message says of its own addressing; "" where it carries
// no such field (a join has no target, a leave no document).
type Route struct {
	Sender   string // senderId
	Target   string // targetId
	Document string // documentId
}

// RouteOf reads m's senderId, targetId and documentId.
func RouteOf(m Message) Route {
	var r Route
	for _, f := range m.fields() {
		s, ok := f.value.(*string)
		if !ok {
			continue
		}
		switch f.key {
		case "senderId":
			r.Sender = *s
		case "targetId":
			r.Target = *s
		case "documentId":
			r.Document = *s
		}
	}
	return r
}
