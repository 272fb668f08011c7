package engine

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/collab-editor/collab/sync/wire"
)

// maxSenderID bounds the senderId a handshake may declare.
const maxSenderID = 128

// bindSender checks the senderId a handshake declares against the stream's
// authenticated peer (PROTOCOL.md section 6).
func (c *conn) bindSender(sender string, md wire.PeerMetadata) error {
	if len(sender) > maxSenderID || strings.ContainsFunc(sender, func(r rune) bool { return !unicode.IsPrint(r) }) {
		// It is logged and shown: a peer ID is 52 characters, automerge-repo's
		// generated IDs fewer.
		return fmt.Errorf("senderId must be at most %d printable characters", maxSenderID)
	}
	// A senderId that is a peer ID must be the stream's own. Any other
	// (automerge-repo makes up its own) is a label that proves nothing, so
	// it is never reserved: one peer claiming it first must not lock out
	// another that uses it too. What it says is always shown next to the
	// stream's authenticated peer (presenceKey).
	if id, err := peer.Decode(sender); err == nil && id != c.pid {
		return fmt.Errorf("senderId %s is not this stream's peer %s", sender, c.pid)
	}
	for _, x := range md.Extensions {
		switch x {
		case wire.ExtChange:
			c.collab = true
		case wire.ExtDoc:
			c.docExt = true
		case wire.ExtHeads:
			c.headsExt = true
		case wire.ExtHeadsList:
			c.headsListExt = true
		case wire.ExtEpoch:
			c.epochExt = true
		}
	}
	c.js = !c.collab
	c.ephemeral = md.IsEphemeral || (c.js && md.StorageID == "")
	return nil
}
