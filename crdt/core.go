package crdt

// The worker side: the only code in collab that calls the Automerge core.
// It runs in a child process (see worker.go) and owns one document.

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"os"
	"strconv"

	"github.com/automerge/automerge-go"

	"github.com/collab-editor/collab/crdt/amformat"
)

// workerEnv, when set in the environment, turns the process into a worker:
// crdt's init serves requests on the inherited pipes and exits, before the
// program's own main (or a test binary's) ever runs. Its value is the
// worker's memory limit in bytes above what it maps at start (0: none).
const workerEnv = "COLLAB_CRDT_WORKER"

// Inherited descriptors: requests in, responses out (stderr carries the
// core's panic text to the parent).
const (
	workerRequestFD  = 3
	workerResponseFD = 4
)

func init() {
	limit, ok := os.LookupEnv(workerEnv)
	if !ok {
		return
	}
	os.Exit(serveWorker(limit))
}

func serveWorker(limit string) int {
	if n, err := strconv.ParseInt(limit, 10, 64); err == nil && n > 0 {
		if err := limitMemory(n); err != nil {
			fmt.Fprintf(os.Stderr, "collab worker: %v\n", err)
			return 2
		}
	}
	in := bufio.NewReaderSize(os.NewFile(workerRequestFD, "requests"), 64<<10)
	out := bufio.NewWriterSize(os.NewFile(workerResponseFD, "responses"), 64<<10)
	c := &core{states: map[uint64]*automerge.SyncState{}}
	for {
		var req request
		if err := readFrame(in, maxRequestFrame, &req); err != nil {
			// EOF: the parent closed the pipe or died.
			return 0
		}
		resp := c.handle(&req)
		if err := writeFrame(out, resp); err != nil {
			return 0
		}
		if err := out.Flush(); err != nil {
			return 0
		}
	}
}

// core is one document and its sync states.
type core struct {
	doc    *automerge.Doc
	states map[uint64]*automerge.SyncState
}

func (c *core) handle(req *request) (resp *response) {
	resp = &response{}
	for _, id := range req.Free {
		delete(c.states, id)
	}
	if req.Op == opInit {
		if err := c.init(req, resp); err != nil {
			resp.Err = wireErr(err)
			return resp
		}
	} else if c.doc == nil {
		resp.Err = &wireError{Code: errBadRequest, Message: "no document loaded"}
		return resp
	} else {
		c.applyEdits(req.Edits, resp)
	}
	if req.Commit {
		ch, err := c.commit(req.Message)
		if err != nil {
			resp.Err = wireErr(err)
			return resp
		}
		resp.Flushed, resp.Committed = true, ch
		if ch != nil {
			// Nothing is open now, so reading heads commits nothing.
			resp.Heads = c.doc.Heads()
		}
	}
	var before []automerge.ChangeHash
	merging := mergingOps[req.Op]
	if merging {
		before = c.doc.Heads()
	}
	if err := c.do(req, resp); err != nil {
		resp.Err = wireErr(err)
	}
	c.readBack(resp)
	if req.Op == opInit || merging && !req.NoText && !SameHeads(before, c.doc.Heads()) {
		// The note keeps the text in Go: after anything came in from
		// elsewhere it gets it whole (reading it is part of the read-back).
		if s, err := c.textString(); err == nil {
			resp.Text, resp.HasText = s, true
		}
	}
	return resp
}

// mergingOps bring in changes from elsewhere.
var mergingOps = map[opCode]bool{opApply: true, opReceiveSync: true, opMerge: true}

func (c *core) init(req *request, resp *response) error {
	c.doc = automerge.New()
	if len(req.Snapshot) > 0 {
		doc, err := automerge.Load(req.Snapshot)
		if err != nil {
			return fmt.Errorf("load snapshot: %w", err)
		}
		c.doc = doc
	}
	// One record at a time: automerge's loadIncremental stops quietly at the
	// first bad chunk of a concatenation, and one bad record must not cost
	// the ones after it.
	for i, r := range req.Records {
		if err := c.doc.LoadIncremental(r); err != nil {
			resp.Rejected = append(resp.Rejected, indexError{Index: i, Message: err.Error()})
		}
	}
	if req.Actor != "" {
		if err := c.doc.SetActorID(req.Actor); err != nil {
			return fmt.Errorf("set actor: %w", err)
		}
	}
	if req.Probe {
		resp.Heads = c.doc.Heads()
	}
	c.applyEdits(req.Edits, resp)
	c.states = map[uint64]*automerge.SyncState{}
	for _, s := range req.States {
		st := automerge.NewSyncState(c.doc)
		if len(s.Data) > 0 {
			if loaded, err := automerge.LoadSyncState(c.doc, s.Data); err == nil {
				st = loaded
			}
		}
		c.states[s.ID] = st
	}
	return nil
}

func (c *core) applyEdits(edits []edit, resp *response) {
	for i, e := range edits {
		var err error
		switch e.Kind {
		case editSplice:
			err = c.splice(e.Pos, e.Delete, e.Insert)
		case editTitle:
			err = c.doc.RootMap().Set(KeyTitle, e.Insert)
		case editEnsureBody:
			err = c.ensureBody()
		default:
			err = fmt.Errorf("unknown edit kind %d", e.Kind)
		}
		if err != nil {
			resp.FailedEdits = append(resp.FailedEdits, indexError{Index: i, Message: err.Error()})
		}
	}
}

func (c *core) do(req *request, resp *response) error {
	// Arms end alike (heads back to the caller) on purpose: each operation
	// reads whole in its own arm.
	switch req.Op {
	case opFlush, opInit:
		return nil
	case opText:
		s, err := c.textString()
		resp.Text, resp.HasText = s, err == nil
		return err
	case opTextDigest:
		sum, err := c.textDigest()
		resp.Data, resp.Heads = sum, c.doc.Heads()
		return err
	case opHeads:
		resp.Heads = c.doc.Heads()
		return nil
	case opSave:
		resp.Data = c.doc.Save()
		resp.Heads = c.doc.Heads()
		if req.Digest {
			var err error
			resp.Digest, err = c.textDigest()
			return err
		}
		return nil
	case opApply:
		if err := c.doc.LoadIncremental(req.Data); err != nil {
			return fmt.Errorf("apply changes: %w", err)
		}
		resp.Heads = c.doc.Heads()
		return nil
	case opReceiveSync:
		st, err := c.state(req.State)
		if err != nil {
			return err
		}
		m, err := st.ReceiveMessage(req.Data)
		if err != nil {
			return fmt.Errorf("receive sync message: %w", err)
		}
		for _, ch := range m.Changes() {
			resp.Changes = append(resp.Changes, Change{Hash: ch.Hash(), Bytes: ch.Save()})
		}
		resp.State = st.Save()
		resp.Heads = c.doc.Heads()
		return nil
	case opGenerateSync:
		st, err := c.state(req.State)
		if err != nil {
			return err
		}
		if m, ok := st.GenerateMessage(); ok {
			resp.Data, resp.OK = m.Bytes(), true
		}
		return nil
	case opNewSyncState:
		c.states[req.State] = automerge.NewSyncState(c.doc)
		return nil
	case opLoadSyncState:
		st, err := automerge.LoadSyncState(c.doc, req.Data)
		if err != nil {
			return fmt.Errorf("load sync state: %w", err)
		}
		c.states[req.State] = st
		return nil
	case opSaveSyncState:
		st, err := c.state(req.State)
		if err != nil {
			return err
		}
		resp.Data = st.Save()
		return nil
	case opHasChange:
		if len(req.Hashes) != 1 {
			return fmt.Errorf("has change: %d hashes", len(req.Hashes))
		}
		_, err := c.doc.Change(req.Hashes[0])
		resp.OK = err == nil
		return nil
	case opHistory:
		return c.history(resp)
	case opAt:
		return c.at(req.Hashes, resp)
	case opMerge:
		return c.merge(req.Data, resp)
	}
	return fmt.Errorf("unknown request %d", req.Op)
}

func (c *core) state(id uint64) (*automerge.SyncState, error) {
	st, ok := c.states[id]
	if !ok {
		// The parent registers states without a round trip.
		st = automerge.NewSyncState(c.doc)
		c.states[id] = st
	}
	return st, nil
}

// readBack fills in what the parent caches: what the body is, its length
// and the title. Reading them is what aborts on some corrupted documents,
// so an untrusted input counts as applied only once this has run.
func (c *core) readBack(resp *response) {
	if c.doc == nil {
		return
	}
	t, err := c.text()
	switch {
	case err != nil:
		resp.Body = bodyForeign
	case t == nil:
		resp.Body = bodyNone
	default:
		resp.Body, resp.Len = bodyText, t.Len()
	}
	resp.Title = c.title()
}

// text finds the body, nil while it has not arrived (a note being joined
// starts empty). It is looked up on every use because a concurrent peer may
// have put another object under the key. A body stored as a plain string
// cannot be edited collaboratively, so it is refused rather than silently
// replaced.
func (c *core) text() (*automerge.Text, error) {
	v, err := c.doc.RootMap().Get(KeyText)
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", KeyText, err)
	}
	switch v.Kind() {
	case automerge.KindText:
		return v.Text(), nil
	case automerge.KindVoid:
		return nil, nil
	default:
		return nil, fmt.Errorf("%q is a %v, not Text: %w", KeyText, v.Kind(), ErrNotANote)
	}
}

// textDigest is the SHA-256 of the text.
func (c *core) textDigest() ([]byte, error) {
	s, err := c.textString()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(s))
	return sum[:], nil
}

func (c *core) textString() (string, error) {
	t, err := c.text()
	if err != nil || t == nil {
		return "", err
	}
	s, err := t.Get()
	if err != nil {
		return "", fmt.Errorf("read text: %w", err)
	}
	return s, nil
}

func (c *core) title() string {
	return titleOf(c.doc)
}

func titleOf(doc *automerge.Doc) string {
	v, err := doc.RootMap().Get(KeyTitle)
	if err != nil {
		return ""
	}
	switch v.Kind() {
	case automerge.KindStr:
		return v.Str()
	case automerge.KindText:
		s, _ := v.Text().Get()
		return s
	}
	return ""
}

func (c *core) ensureBody() error {
	t, err := c.text()
	if err != nil || t != nil {
		return err
	}
	if err := c.doc.RootMap().Set(KeyText, automerge.NewText("")); err != nil {
		return fmt.Errorf("create text: %w", err)
	}
	return nil
}

func (c *core) splice(pos, del int, ins string) error {
	t, err := c.text()
	if err != nil {
		return err
	}
	if t == nil {
		return ErrNoBody
	}
	length := t.Len()
	if pos < 0 || pos > length || del < 0 || pos+del > length {
		return fmt.Errorf("splice at %d deleting %d of %d runes: %w", pos, del, length, ErrOutOfRange)
	}
	if err := t.Splice(pos, del, ins); err != nil {
		return fmt.Errorf("splice: %w", err)
	}
	return nil
}

func (c *core) commit(msg string) (*Change, error) {
	hash, err := c.doc.Commit(msg)
	if err != nil {
		// automerge-go reports an empty transaction only by this text.
		if err.Error() == "Commit is empty" {
			return nil, nil
		}
		return nil, fmt.Errorf("commit: %w", err)
	}
	ch, err := c.doc.Change(hash)
	if err != nil {
		return nil, fmt.Errorf("read back change %s: %w", hash, err)
	}
	return &Change{Hash: hash, Bytes: ch.Save()}, nil
}

func (c *core) history(resp *response) error {
	changes, err := c.doc.Changes()
	if err != nil {
		return fmt.Errorf("read history: %w", err)
	}
	resp.History = make([]historyEntry, 0, len(changes))
	for _, ch := range changes {
		e := historyEntry{
			Hash:    ch.Hash(),
			Actor:   ch.ActorID(),
			Seq:     ch.ActorSeq(),
			Time:    ch.Timestamp().UnixNano(),
			Message: ch.Message(),
			Deps:    ch.Dependencies(),
		}
		if d, err := amformat.DecodeChange(ch.Save()); err == nil {
			e.Inserted, e.Deleted = countTextOps(d)
			e.Counted = true
		}
		resp.History = append(resp.History, e)
	}
	return nil
}

// countTextOps counts the characters a change inserts into and deletes
// from the note's text objects (marks and root keys aside).
func countTextOps(c *amformat.Change) (inserted, deleted int) {
	for i := range c.Ops {
		op := &c.Ops[i]
		switch {
		case op.Obj.IsZero():
		case op.Action == amformat.ActionDelete:
			deleted++
		case op.Insert && op.Action == amformat.ActionPut:
			inserted++
		}
	}
	return inserted, deleted
}

func (c *core) at(heads []ChangeHash, resp *response) error {
	for _, h := range heads {
		if _, err := c.doc.Change(h); err != nil {
			return fmt.Errorf("%s: %w", h, ErrUnknownHash)
		}
	}
	past, err := c.doc.Fork(heads...)
	if err != nil {
		return fmt.Errorf("fork at %v: %w", heads, err)
	}
	old := &core{doc: past}
	text, err := old.textString()
	if err != nil {
		return fmt.Errorf("read old text: %w", err)
	}
	resp.Text, resp.Data = text, []byte(old.title())
	return nil
}

// merge brings in every change of another copy of this note. It refuses a
// document with no history in common: two separately created notes each
// have their own Text under "text", and merging them would make one
// silently hide the other.
func (c *core) merge(other []byte, resp *response) error {
	theirs, err := automerge.Load(other)
	if err != nil {
		return fmt.Errorf("load other copy: %w", err)
	}
	theirChanges, err := theirs.Changes()
	if err != nil {
		return fmt.Errorf("read other copy's history: %w", err)
	}
	shared := false
	var fresh []*automerge.Change
	for _, ch := range theirChanges {
		if _, err := c.doc.Change(ch.Hash()); err == nil {
			shared = true
		} else {
			fresh = append(fresh, ch)
		}
	}
	if !shared && len(theirChanges) > 0 {
		return ErrDifferentDoc
	}
	if len(fresh) == 0 {
		return nil
	}
	if err := c.doc.Apply(fresh...); err != nil {
		return fmt.Errorf("apply other copy's changes: %w", err)
	}
	for _, ch := range fresh {
		resp.Changes = append(resp.Changes, Change{Hash: ch.Hash(), Bytes: ch.Save()})
	}
	resp.Heads = c.doc.Heads()
	return nil
}
