package crdt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/fxamacker/cbor/v2"
)

// The protocol between a Note and its worker process: one request, then one
// response, each a frame of a 4-byte big-endian length and a CBOR body.
// Requests are serialised per worker, so a response always answers the
// request before it and a death is always attributed to one request.

// opCode names what a request asks the worker to do after it has applied
// the request's edits and, when asked, committed them.
type opCode uint8

const (
	opFlush         opCode = iota + 1 // nothing more: edits and commit only
	opInit                            // build the document (Snapshot, Records, Edits), restore States
	opText                            // the body
	opTextDigest                      // SHA-256 and length of the body (snapshot verification)
	opHeads                           // the heads
	opSave                            // the whole document, and its heads
	opApply                           // loadIncremental(Data), read back
	opReceiveSync                     // receive sync message Data on state State, read back
	opGenerateSync                    // next sync message for state State
	opNewSyncState                    // a fresh state with id State
	opLoadSyncState                   // state State from bytes Data
	opSaveSyncState                   // state State's bytes
	opHasChange                       // whether Hashes[0] is in the document
	opHistory                         // every change's metadata
	opAt                              // title and text as of Hashes
	opMerge                           // bring in the changes of document Data
)

var opNames = map[opCode]string{
	opFlush: "flush", opInit: "load", opText: "read text", opTextDigest: "digest text",
	opHeads: "read heads", opSave: "save", opApply: "apply changes",
	opReceiveSync: "receive sync message", opGenerateSync: "generate sync message",
	opNewSyncState: "new sync state", opLoadSyncState: "load sync state",
	opSaveSyncState: "save sync state", opHasChange: "look up change", opHistory: "read history",
	opAt: "read past version", opMerge: "merge document",
}

func (o opCode) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	return fmt.Sprintf("op %d", o)
}

// editKind is one kind of local edit, kept in the journal until committed.
type editKind uint8

const (
	editSplice editKind = iota + 1
	editTitle
	editEnsureBody
)

// edit is one journalled local edit. Title edits carry the title in Insert.
type edit struct {
	Kind   editKind `cbor:"1,keyasint"`
	Pos    int      `cbor:"2,keyasint,omitempty"`
	Delete int      `cbor:"3,keyasint,omitempty"`
	Insert string   `cbor:"4,keyasint,omitempty"`
}

// stateInit restores one sync state after a restart (Data nil: fresh).
type stateInit struct {
	ID   uint64 `cbor:"1,keyasint"`
	Data []byte `cbor:"2,keyasint,omitempty"`
}

type request struct {
	Op    opCode `cbor:"1,keyasint"`
	Edits []edit `cbor:"2,keyasint,omitempty"`
	// Commit asks for the open transaction (the edits) to be committed under
	// Message before the operation runs.
	Commit  bool   `cbor:"3,keyasint,omitempty"`
	Message string `cbor:"4,keyasint,omitempty"`
	Data    []byte `cbor:"5,keyasint,omitempty"`
	State   uint64 `cbor:"6,keyasint,omitempty"`
	// Free lists sync states nobody holds any more.
	Free   []uint64     `cbor:"7,keyasint,omitempty"`
	Hashes []ChangeHash `cbor:"8,keyasint,omitempty"`

	// opInit only.
	Actor    string      `cbor:"9,keyasint,omitempty"`
	Snapshot []byte      `cbor:"10,keyasint,omitempty"`
	Records  [][]byte    `cbor:"11,keyasint,omitempty"`
	States   []stateInit `cbor:"12,keyasint,omitempty"`
	// NoText: the note has its own model of the text, so a merge need not
	// send the whole text back.
	NoText bool `cbor:"14,keyasint,omitempty"`

	// Probe makes opInit read the heads as well (the text it reads anyway),
	// so a record that only aborts the core when read is caught at load.
	Probe bool `cbor:"13,keyasint,omitempty"`
	// Digest makes opSave hash the text too (Response.Digest): in one
	// request, so both describe the same document.
	Digest bool `cbor:"15,keyasint,omitempty"`
}

// bodyKind says what the root "text" key holds.
type bodyKind uint8

const (
	bodyNone    bodyKind = iota // not arrived yet
	bodyText                    // Automerge Text: a collab note
	bodyForeign                 // something else: not a collab note
)

// errCode carries a sentinel across the pipe.
type errCode uint8

const (
	errGeneric errCode = iota + 1
	errOutOfRange
	errNoBody
	errNotANote
	errDifferentDoc
	errUnknownHash
	errBadRequest
)

var errCodes = map[errCode]error{
	errOutOfRange: ErrOutOfRange, errNoBody: ErrNoBody, errNotANote: ErrNotANote,
	errDifferentDoc: ErrDifferentDoc, errUnknownHash: ErrUnknownHash,
}

type wireError struct {
	Code    errCode `cbor:"1,keyasint"`
	Message string  `cbor:"2,keyasint"`
}

// indexError is an error about one element of a request's list (a record
// at load, an edit of the journal).
type indexError struct {
	Index   int    `cbor:"1,keyasint"`
	Message string `cbor:"2,keyasint"`
}

type historyEntry struct {
	Hash    ChangeHash   `cbor:"1,keyasint"`
	Actor   string       `cbor:"2,keyasint"`
	Seq     uint64       `cbor:"3,keyasint"`
	Time    int64        `cbor:"4,keyasint"` // Unix nanoseconds
	Message string       `cbor:"5,keyasint"`
	Deps    []ChangeHash `cbor:"6,keyasint"`
	// Inserted and Deleted count the change's text ops (Counted: its
	// bytes decoded), facts of the change rather than its writer's words.
	Inserted int  `cbor:"7,keyasint,omitempty"`
	Deleted  int  `cbor:"8,keyasint,omitempty"`
	Counted  bool `cbor:"9,keyasint,omitempty"`
}

type response struct {
	Err *wireError `cbor:"1,keyasint,omitempty"`
	// Flushed says the request's commit ran; Committed is the change it
	// made (nil: the open transaction was empty).
	Flushed   bool    `cbor:"15,keyasint,omitempty"`
	Committed *Change `cbor:"2,keyasint,omitempty"`
	// Read back after every request: what the note caches.
	Body  bodyKind `cbor:"3,keyasint"`
	Title string   `cbor:"4,keyasint"`
	Len   int      `cbor:"5,keyasint"`

	Heads   []ChangeHash `cbor:"6,keyasint,omitempty"`
	Data    []byte       `cbor:"7,keyasint,omitempty"`
	OK      bool         `cbor:"8,keyasint,omitempty"`
	Changes []Change     `cbor:"9,keyasint,omitempty"`
	// Text is the whole body, sent (HasText) after a load and after a
	// merge from elsewhere changed the document, and for opText.
	Text    string         `cbor:"10,keyasint,omitempty"`
	HasText bool           `cbor:"16,keyasint,omitempty"`
	History []historyEntry `cbor:"11,keyasint,omitempty"`
	// Rejected lists records (opInit) that automerge refused with an error.
	Rejected []indexError `cbor:"12,keyasint,omitempty"`
	// FailedEdits lists journal edits the document refused.
	FailedEdits []indexError `cbor:"13,keyasint,omitempty"`
	// State is the sync state's bytes after the request (opReceiveSync), so
	// a restart restores what the peer last told us.
	State []byte `cbor:"14,keyasint,omitempty"`
	// Digest is the SHA-256 of the text (opSave with Digest).
	Digest []byte `cbor:"17,keyasint,omitempty"`
}

// err turns a wire error back into an error wrapping its sentinel.
func (r *response) err() error {
	if r.Err == nil {
		return nil
	}
	if s, ok := errCodes[r.Err.Code]; ok {
		if r.Err.Message == "" {
			return s
		}
		return fmt.Errorf("%s: %w", r.Err.Message, s)
	}
	return errors.New(r.Err.Message)
}

func wireErr(err error) *wireError {
	if err == nil {
		return nil
	}
	for code, s := range errCodes {
		if errors.Is(err, s) {
			return &wireError{Code: code, Message: err.Error()}
		}
	}
	return &wireError{Code: errGeneric, Message: err.Error()}
}

// Frame bounds. Requests come from our own process; a response comes from a
// process that ran the core over untrusted bytes, so it is bounded and
// decoded with limits like any other untrusted input.
const (
	maxRequestFrame  = 1 << 30
	maxResponseFrame = 512 << 20
)

// The CBOR modes are package variables, not set in an init function: a
// worker starts serving from crdt's init, which may run before others.
var (
	encMode = mustEncMode()
	decMode = mustDecMode()
)

func mustEncMode() cbor.EncMode {
	m, err := cbor.EncOptions{}.EncMode()
	if err != nil {
		panic(err)
	}
	return m
}

func mustDecMode() cbor.DecMode {
	m, err := cbor.DecOptions{
		MaxArrayElements: 1 << 24,
		MaxMapPairs:      64,
		MaxNestedLevels:  8,
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}

var errFrameTooLarge = errors.New("frame too large")

func writeFrame(w io.Writer, v any) error {
	body, err := encMode.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode frame: %w", err)
	}
	frame := make([]byte, 4, 4+len(body))
	binary.BigEndian.PutUint32(frame, uint32(len(body)))
	_, err = w.Write(append(frame, body...))
	return err
}

func readFrame(r io.Reader, max int, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if uint64(n) > uint64(max) {
		return fmt.Errorf("%d bytes: %w", n, errFrameTooLarge)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if err := decMode.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode frame: %w", err)
	}
	return nil
}
