package p2p

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/record"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/multiformats/go-varint"
)

// RecordProtocol asks a connected collaborator for the signed peer record
// (current addresses, signed by that peer's own key) it holds for a peer we
// both know. Identify already hands every connected peer our own record;
// this is how a peer that moved is found again through someone who is still
// connected to it.
//
//	request  = uvarint(len) peer-id-bytes        (one peer ID, ≤ 128 bytes)
//	response = uvarint(len) envelope-bytes       (len 0: no record; ≤ 8 KiB)
//
// The responder answers only trusted requesters, and only with records it
// holds for peers that are trusted by it too. The requester verifies the
// envelope's signature and that it was signed by the peer asked for, so a
// responder cannot forge addresses.
const RecordProtocol = protocol.ID("/collab/peer-record/1")

const (
	maxRecordRequest  = 128
	maxRecordResponse = 8 << 10
	recordTimeout     = 5 * time.Second
	recordAddrTTL     = time.Hour
)

func (h *Host) handleRecordRequest(s network.Stream) {
	defer s.Close()
	if !h.trusted(s.Conn().RemotePeer()) {
		_ = s.Reset()
		return
	}
	_ = s.SetDeadline(time.Now().Add(recordTimeout))
	br := bufio.NewReader(io.LimitReader(s, maxRecordRequest+varint.MaxLenUvarint63))
	n, err := varint.ReadUvarint(br)
	if err != nil || n == 0 || n > maxRecordRequest {
		_ = s.Reset()
		return
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(br, buf); err != nil {
		_ = s.Reset()
		return
	}
	target, err := peer.IDFromBytes(buf)
	var env []byte
	if err == nil && target != s.Conn().RemotePeer() && (target == h.ID() || h.trusted(target)) {
		env = h.recordBytes(target)
	}
	if len(env) > maxRecordResponse {
		env = nil
	}
	out := append(varint.ToUvarint(uint64(len(env))), env...)
	if _, err := s.Write(out); err != nil {
		_ = s.Reset()
	}
}

// keepRecord stores a trusted peer's signed record (identify hands it over
// on every connection and push, but does not keep it), so that we can pass
// it on to other collaborators looking for that peer.
func (h *Host) keepRecord(p peer.ID, env *record.Envelope) {
	if env == nil {
		return
	}
	cab, ok := peerstore.GetCertifiedAddrBook(h.h.Peerstore())
	if !ok {
		return
	}
	if _, err := cab.ConsumePeerRecord(env, recordAddrTTL); err != nil {
		h.log.Debug("keep peer record", "peer", p, "err", err)
	}
}

// recordBytes returns the signed record we hold for p (our own for p ==
// self), marshaled, or nil.
func (h *Host) recordBytes(p peer.ID) []byte {
	cab, ok := peerstore.GetCertifiedAddrBook(h.h.Peerstore())
	if !ok {
		return nil
	}
	env := cab.GetPeerRecord(p)
	if env == nil {
		return nil
	}
	b, err := env.Marshal()
	if err != nil {
		return nil
	}
	return b
}

// FindPeer asks every connected trusted peer (except p itself) for p's
// signed peer record, stores the newest valid one, and returns its
// addresses. It returns an error if nobody had one.
func (h *Host) FindPeer(ctx context.Context, p peer.ID) ([]ma.Multiaddr, error) {
	var asks []peer.ID
	for _, q := range h.h.Network().Peers() {
		if q != p && h.trusted(q) {
			asks = append(asks, q)
		}
	}
	if len(asks) == 0 {
		return nil, fmt.Errorf("find %s: no collaborator is connected to ask", shortID(p))
	}
	ctx, cancel := context.WithTimeout(ctx, recordTimeout)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		found []ma.Multiaddr
		errs  []error
	)
	for _, q := range asks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addrs, err := h.askRecord(ctx, q, p)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			if len(addrs) > 0 {
				found = addrs // ConsumePeerRecord kept the newest; read it back below
			}
		}()
	}
	wg.Wait()
	if found == nil {
		return nil, fmt.Errorf("find %s: none of %d connected collaborators had its addresses: %w", shortID(p), len(asks), errors.Join(errs...))
	}
	if cab, ok := peerstore.GetCertifiedAddrBook(h.h.Peerstore()); ok {
		if env := cab.GetPeerRecord(p); env != nil {
			if rec, err := env.Record(); err == nil {
				if pr, ok := rec.(*peer.PeerRecord); ok {
					return pr.Addrs, nil
				}
			}
		}
	}
	return found, nil
}

// askRecord asks q for p's record and stores it if valid.
func (h *Host) askRecord(ctx context.Context, q, p peer.ID) ([]ma.Multiaddr, error) {
	s, err := h.h.NewStream(network.WithAllowLimitedConn(network.WithNoDial(ctx, "record lookup"), "record lookup"), q, RecordProtocol)
	if err != nil {
		return nil, fmt.Errorf("ask %s: %w", shortID(q), err)
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	id := []byte(p)
	if _, err := s.Write(append(varint.ToUvarint(uint64(len(id))), id...)); err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("ask %s: %w", shortID(q), err)
	}
	br := bufio.NewReader(io.LimitReader(s, maxRecordResponse+varint.MaxLenUvarint63))
	n, err := varint.ReadUvarint(br)
	if err != nil {
		return nil, fmt.Errorf("ask %s: %w", shortID(q), err)
	}
	if n == 0 {
		return nil, nil
	}
	if n > maxRecordResponse {
		return nil, fmt.Errorf("ask %s: record of %d bytes is too large", shortID(q), n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(br, buf); err != nil {
		return nil, fmt.Errorf("ask %s: %w", shortID(q), err)
	}
	env, rec, err := record.ConsumeEnvelope(buf, peer.PeerRecordEnvelopeDomain)
	if err != nil {
		return nil, fmt.Errorf("record for %s from %s: %w", shortID(p), shortID(q), err)
	}
	pr, ok := rec.(*peer.PeerRecord)
	if !ok || pr.PeerID != p {
		return nil, fmt.Errorf("record from %s is not for %s", shortID(q), shortID(p))
	}
	signer, err := peer.IDFromPublicKey(env.PublicKey)
	if err != nil || signer != p {
		return nil, fmt.Errorf("record for %s from %s is not signed by it", shortID(p), shortID(q))
	}
	if cab, ok := peerstore.GetCertifiedAddrBook(h.h.Peerstore()); ok {
		if _, err := cab.ConsumePeerRecord(env, recordAddrTTL); err != nil {
			return nil, fmt.Errorf("store record for %s: %w", shortID(p), err)
		}
	}
	return pr.Addrs, nil
}
