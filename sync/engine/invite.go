package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/sync/wire"
)

// Limits on pending invitations (PROTOCOL.md section 8).
const (
	maxInvitesPerPeer = 8
	maxInvites        = 32
	maxInviteData     = 16 << 20 // larger offers are kept without their bytes
)

// InvitesDir is where pending invitations live inside a notebook directory.
const InvitesDir = "invites"

// Invitation is a note a peer offered us (an unsolicited sync): not a note
// until accepted.
type Invitation struct {
	DocumentID crdt.DocumentID `json:"-"`
	ID         string          `json:"id"`
	Title      string          `json:"title"`    // "" until the note's changes arrived
	FromPeer   string          `json:"fromPeer"` // libp2p peer ID of the inviter
	FromName   string          `json:"fromName"` // its display name, if it sent presence
	Addrs      []string        `json:"addrs"`    // where the inviter was reachable
	Received   time.Time       `json:"received"`
}

type invitationFile struct {
	Invitation
	// Data is the sync message received: for a collab offer, the whole note.
	Data []byte `json:"data,omitempty"`
}

func invitePath(home string, id crdt.DocumentID) string {
	return filepath.Join(home, InvitesDir, id.String())
}

// ReadInvitations lists the pending invitations of the notebook at home,
// newest first (for `collab invites` in any process).
func ReadInvitations(home string) ([]Invitation, error) {
	files, err := readInvitationFiles(home)
	if err != nil {
		return nil, err
	}
	out := make([]Invitation, len(files))
	for i, f := range files {
		out[i] = f.Invitation
	}
	return out, nil
}

func readInvitationFiles(home string) ([]invitationFile, error) {
	entries, err := os.ReadDir(filepath.Join(home, InvitesDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read invitations: %w", err)
	}
	var out []invitationFile
	for _, ent := range entries {
		id, err := crdt.ParseDocumentID(ent.Name())
		if err != nil {
			continue // temp files and strangers
		}
		f, err := readInvitation(home, id)
		if err != nil {
			continue
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b invitationFile) int { return b.Received.Compare(a.Received) })
	return out, nil
}

func readInvitation(home string, id crdt.DocumentID) (invitationFile, error) {
	var f invitationFile
	b, err := os.ReadFile(invitePath(home, id))
	if errors.Is(err, fs.ErrNotExist) {
		return f, fmt.Errorf("invitation %s: %w", id, ErrNoInvitation)
	}
	if err != nil {
		return f, fmt.Errorf("read invitation %s: %w", id, err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("read invitation %s: %w", id, err)
	}
	f.DocumentID = id
	f.ID = id.String()
	return f, nil
}

func writeInvitation(home string, f invitationFile) error {
	dir := filepath.Join(home, InvitesDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("store invitation: %w", err)
	}
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("store invitation: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-") // mode 0600
	if err != nil {
		return fmt.Errorf("store invitation: %w", err)
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), invitePath(home, f.DocumentID))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("store invitation: %w", err)
	}
	return nil
}

// RemoveInvitation forgets a pending invitation (declining it).
func RemoveInvitation(home string, id crdt.DocumentID) error {
	err := os.Remove(invitePath(home, id))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("invitation %s: %w", id, ErrNoInvitation)
	}
	if err != nil {
		return fmt.Errorf("remove invitation %s: %w", id, err)
	}
	return nil
}

// Invitations lists pending invitations, newest first.
func (e *Engine) Invitations() []Invitation {
	invs, err := ReadInvitations(e.nb.Dir())
	if err != nil {
		e.log.Warn("cannot read invitations", "err", err)
	}
	return invs
}

// Decline drops a pending invitation.
func (e *Engine) Decline(id crdt.DocumentID) error {
	e.invites.Lock()
	defer e.invites.Unlock()
	if err := RemoveInvitation(e.nb.Dir(), id); err != nil {
		return err
	}
	e.log.Info("invitation declined", "note", id)
	return nil
}

// addInvitation turns an unsolicited sync for a note we lack into a pending
// invitation. It is not answered.
func (e *Engine) addInvitation(c *conn, id crdt.DocumentID, data []byte) {
	title, body := "", false
	if len(data) <= maxInviteData {
		title, body = titleFromSync(data)
	}
	e.invites.Lock()
	defer e.invites.Unlock()
	home := e.nb.Dir()
	files, err := readInvitationFiles(home)
	if err != nil {
		e.log.Warn("cannot read invitations", "err", err)
	}
	f := invitationFile{Invitation: Invitation{DocumentID: id, ID: id.String(), FromPeer: c.peerKey,
		Addrs: e.knownPeer(c.pid).Addrs, Received: time.Now()}}
	fresh := true
	for _, old := range files {
		if old.DocumentID == id {
			fresh = false
			f.FromName = old.FromName
			if !body {
				title, f.Data = old.Title, old.Data
			}
		}
	}
	f.Title = title
	if body {
		f.Data = data
	}
	// Keep within the limits, dropping the oldest.
	files = slices.DeleteFunc(files, func(x invitationFile) bool { return x.DocumentID == id })
	var fromPeer []invitationFile
	for _, x := range files {
		if x.FromPeer == c.peerKey {
			fromPeer = append(fromPeer, x)
		}
	}
	drop := func(x invitationFile) {
		os.Remove(invitePath(home, x.DocumentID))
		files = slices.DeleteFunc(files, func(y invitationFile) bool { return y.DocumentID == x.DocumentID })
		e.log.Info("dropped an old invitation: too many pending", "note", x.DocumentID, "from", x.FromPeer)
	}
	for len(fromPeer) >= maxInvitesPerPeer {
		drop(fromPeer[len(fromPeer)-1])
		fromPeer = fromPeer[:len(fromPeer)-1]
	}
	for len(files) >= maxInvites {
		drop(files[len(files)-1])
	}
	if err := writeInvitation(home, f); err != nil {
		e.log.Error("cannot store invitation", "note", id, "err", err)
		return
	}
	if fresh {
		e.log.Info("invitation received", "note", id, "title", title, "from", c.pid)
	}
	if !body && f.Data == nil && len(data) <= maxInviteData && c.askOnce(id) {
		// automerge-repo announces a note with its heads alone. Answer as an
		// empty copy would (it reveals nothing) so the note's changes come
		// and the invitation can show its title; they arrive as another
		// unsolicited sync and are kept here, not stored as a note.
		if msg, ok := askForContent(data); ok {
			c.send(&wire.Sync{SenderID: e.self, TargetID: c.remoteSender, DocumentID: id.String(), Data: msg})
		}
	}
	e.emit(Event{Kind: InvitationReceived, Note: id, Peer: c.peerKey})
}

// titleFromSync reads the title a sync message carries (if it carries the
// note's changes) on a scratch document.
func titleFromSync(data []byte) (title string, body bool) {
	doc, _, err := crdt.Load(nil, nil, "")
	if err != nil {
		return "", false
	}
	if _, err := doc.ReceiveSyncMessage(doc.NewSyncState(), data); err != nil {
		return "", false
	}
	return doc.Title(), doc.HasBody()
}

// askForContent is the sync message an empty copy of a note answers an
// announcement with: it needs every change.
func askForContent(announce []byte) ([]byte, bool) {
	scratch, _, err := crdt.Load(nil, nil, "")
	if err != nil {
		return nil, false
	}
	state := scratch.NewSyncState()
	if _, err := scratch.ReceiveSyncMessage(state, announce); err != nil {
		return nil, false
	}
	msg, ok, err := scratch.GenerateSyncMessage(state)
	return msg, ok && err == nil
}

// askOnce reports whether this stream has not yet asked for the content of
// note id (an announcement is answered once, so two peers cannot loop).
func (c *conn) askOnce(id crdt.DocumentID) bool {
	c.askedMu.Lock()
	defer c.askedMu.Unlock()
	if c.asked == nil {
		c.asked = map[crdt.DocumentID]bool{}
	}
	if c.asked[id] {
		return false
	}
	c.asked[id] = true
	return true
}

// invitationPresence takes the inviter's name from presence it sent for a
// note it offered us.
func (e *Engine) invitationPresence(c *conn, id crdt.DocumentID, m *wire.Ephemeral) {
	typ, state, _, _, ok := decodePresence(m.Data)
	if !ok || typ != "snapshot" {
		return
	}
	name, _ := state["name"].(string)
	if name == "" {
		return
	}
	e.invites.Lock()
	defer e.invites.Unlock()
	f, err := readInvitation(e.nb.Dir(), id)
	if err != nil || f.FromPeer != c.peerKey || f.FromName == name {
		return
	}
	f.FromName = firstRunes(name, 64)
	if err := writeInvitation(e.nb.Dir(), f); err == nil {
		e.emit(Event{Kind: InvitationReceived, Note: id, Peer: c.peerKey})
	}
}
