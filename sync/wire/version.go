package wire

import (
	"fmt"
	"slices"
)

// ProtocolVersion is the automerge-repo protocol version this peer speaks,
// offered in join and selected in peer messages.
const ProtocolVersion = "1"

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
