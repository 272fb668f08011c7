package crdt

// HasBody reports whether the note's text has arrived: false for a note
// being joined until a peer's changes bring its body (see Load).
func (n *Note) HasBody() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	t, err := n.textLocked()
	return err == nil && t != nil
}

// CommittedHeads returns the note's heads if no edit is open, without
// committing anything (reading heads closes automerge's open transaction,
// which would hide those edits from the commit policy); ok=false while
// edits are open.
func (n *Note) CommittedHeads() (heads []ChangeHash, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.pending > 0 {
		return nil, false
	}
	return n.doc.Heads(), true
}

// SaveIfCommitted returns the whole document like Save, and its heads,
// but only when no edit is open (Save would commit it behind the commit
// policy's back); ok=false while edits are open.
func (n *Note) SaveIfCommitted() (data []byte, heads []ChangeHash, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.pending > 0 {
		return nil, nil, false
	}
	return n.doc.Save(), n.doc.Heads(), true
}
