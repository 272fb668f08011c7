package crdt

// HasBody reports whether the note's text has arrived: false for a note
// being joined until a peer's changes bring its body (see Load).
func (n *Note) HasBody() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	t, err := n.textLocked()
	return err == nil && t != nil
}
