package crdt

import "slices"

// CommittedHeads returns the note's heads if no edit is open, without
// committing anything (reading heads commits automerge's open transaction,
// which would hide those edits from the commit policy); ok=false while
// edits are open.
func (n *Note) CommittedHeads() (heads []ChangeHash, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.pending > 0 {
		return nil, false
	}
	// Every request that changes the heads returns them (lastHeads), so
	// with nothing open they are known without a request: presence and
	// status read them per remote change, and a hibernated note stays so.
	if heads := n.lastHeads.get(); len(heads) > 0 && len(n.journal) == 0 {
		return slices.Clone(heads), true
	}
	resp, err := n.callLocked(&request{Op: opHeads}, false)
	if err != nil || resp.err() != nil {
		return nil, false
	}
	return resp.Heads, true
}

// CommittedText returns the text and the heads it is the text of, read
// together and without a request to the worker (so a hibernated note stays
// so), when no edit is open and the text is known to be the worker's;
// ok=false otherwise.
func (n *Note) CommittedText() (text string, heads []ChangeHash, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	heads = n.lastHeads.get()
	if n.pending > 0 || len(n.journal) > 0 || n.textDrift || len(heads) == 0 {
		return "", nil, false
	}
	return n.text.String(), heads, true
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
	if data, heads, ok := n.storedDocumentLocked(); ok {
		return data, heads, true
	}
	data, heads, err := n.saveLocked()
	return data, heads, err == nil
}

// storedDocumentLocked returns, for a note asleep with nothing open whose
// rebuild recipe is one saved document (a note just cut, or compacted, and
// not changed since), that document and its heads: what saving it would
// give, without loading it. ok=false otherwise, or while its history is
// still where it is kept (ReadStored reads it).
func (n *Note) storedDocumentLocked() (data []byte, heads []ChangeHash, ok bool) {
	if n.workerUpLocked() || n.building != nil || n.baseSource != nil || len(n.journal) > 0 || len(n.committed) > 0 {
		return nil, nil, false
	}
	switch {
	case len(n.snapshot) > 0 && len(n.changes) == 0:
		data = n.snapshot
	case len(n.snapshot) == 0 && len(n.changes) == 1:
		data = n.changes[0]
	default:
		return nil, nil, false
	}
	if !IsDocument(data) {
		return nil, nil, false
	}
	stated, err := DocumentHeads(data)
	if err != nil || len(stated) == 0 || !SameHeads(stated, n.lastHeads.get()) {
		return nil, nil, false
	}
	return data, stated, true
}
