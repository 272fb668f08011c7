package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/p2p"
	"github.com/collab-editor/collab/sync/wire"
)

// Errors callers tell apart with errors.Is.
// Each package declares its own sentinels (matched with errors.Is), so the
// blocks look alike across packages.
var (
	// ErrUnavailable: every peer asked for a note answered that it does not
	// have it (doc-unavailable). The error text names those peers.
	ErrUnavailable = errors.New("note unavailable")
	// ErrNotRunning: the engine's Run has not started or has returned.
	ErrNotRunning = errors.New("sync engine not running")
	// ErrUnreachable: none of the given peers could be reached.
	ErrUnreachable = errors.New("no peer reachable")
	// ErrPeerRefused: the peer sent bad input repeatedly and is refused
	// for a while (offences.go).
	ErrPeerRefused = errors.New("peer refused after repeated bad input")
)

// Defaults of the Config tuning fields.
const (
	DefaultHeartbeat        = 5 * time.Second
	DefaultPresenceTimeout  = 15 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultSyncInterval     = 30 * time.Second
	DefaultRedialMax        = 30 * time.Second
	DefaultMessageRate      = 5000     // messages per second per stream
	DefaultSendQueue        = 4096     // frames per stream
	DefaultSendQueueBytes   = 16 << 20 // bytes waiting behind the next frame, per stream
	DefaultFrameTimeout     = 30 * time.Second
	DefaultIdleAfter        = 2 * time.Minute
	DefaultAutoCut          = 10_000
	jsSyncThrottle          = 100 * time.Millisecond
	presenceMinGap          = 100 * time.Millisecond // ≤ 10 presence messages/s per note
	ephemeralRelayRate      = 50                     // per second per (sender, note)
	// Ephemeral messages are relayed to every other peer of a note, so
	// what one stream may make us relay is bounded by the stream (the
	// authenticated peer), not by the senderId it claims: at most
	// ephemeralStreamRate messages and ephemeralStreamBytes bytes a
	// second (bursts as large), each at most maxEphemeralData bytes.
	// Presence is a few hundred bytes ten times a second per person.
	maxEphemeralData     = 64 << 10
	ephemeralStreamRate  = 200
	ephemeralStreamBytes = 256 << 10
	// maxRelayedPresences bounds the presences one stream may add for
	// others (senders it relays), so made-up senderIds cannot crowd a
	// note's presence list.
	maxRelayedPresences = 32
	maxPushBatch        = 64 // more changes at once go by a sync round
	maxSyncFailures     = 3
	missingGrace        = 500 * time.Millisecond // wait for a pushed change's dependencies
	writeTimeout        = 30 * time.Second
	dialTimeout         = 10 * time.Second
	maxConcurrentDials  = 4

	// A peer that shares no note with us (see conn.member) may send frames
	// up to strangerMaxFrame: enough for an offer of maxInviteData, which
	// is how a note is shared with someone new. Together, all such peers
	// may hold at most strangerFrameBudget of frames being read or
	// handled; a frame that does not fit closes its stream. Members keep
	// wire.MaxFrameSize, which a cold join of a long history needs.
	strangerMaxFrame    = maxInviteData + 1<<20
	strangerFrameBudget = 2 * strangerMaxFrame
	// maxHandshakeFrame bounds join and peer, which carry a few IDs.
	maxHandshakeFrame = 64 << 10
)

// Config configures an Engine. Host and Notebook are required; the tuning
// fields default when zero.
type Config struct {
	Host     *p2p.Host
	Notebook *notebook.Notebook
	// Name and Color are this user's presence: display name and "#rrggbb".
	Name, Color string
	// Logger receives readable lines about connects, disconnects, sync
	// activity and refusals; nil discards them.
	Logger *slog.Logger

	// Heartbeat is how often presence is re-sent while nothing changes.
	Heartbeat time.Duration
	// PresenceTimeout drops a remote peer's presence after this much silence.
	PresenceTimeout time.Duration
	// HandshakeTimeout bounds the join/peer exchange on a new stream.
	HandshakeTimeout time.Duration
	// SyncInterval is how often sync states are saved and a catch-up sync
	// round runs with every peer of every open note not known to be in
	// sync (a collab peer whose stated heads are ours needs none).
	SyncInterval time.Duration
	// RedialMax caps the exponential backoff of re-dialling known peers.
	RedialMax time.Duration
	// MessageRate limits messages per second a peer may send on one stream
	// (burst: twice as many); above it the stream is closed as a flood.
	MessageRate int
	// SendQueue is how many frames may wait for a slow peer before its
	// stream is closed.
	SendQueue int
	// SendQueueBytes is how many bytes may wait behind the next frame to
	// write before a slow (or never reading) peer's stream is closed. The
	// next frame itself is not counted, so a single message of up to
	// wire.MaxFrameSize can always be sent.
	SendQueueBytes int
	// FrameTimeout is how long a peer has to send the rest of a frame once
	// its length has arrived. Streams may stay idle between frames.
	FrameTimeout time.Duration
	// IdleAfter is how long a note nothing uses keeps its document loaded
	// (see idle.go).
	IdleAfter time.Duration
	// AutoCut: a note idle for IdleAfter whose epoch holds at least this
	// many changes, and more changes than its text has characters, has
	// its history cut (a new epoch) when every connected peer of it is in
	// sync and all its peers follow epochs (idle.go). 0 means
	// DefaultAutoCut; below 0, never.
	AutoCut int
	// JoinRetryMin and JoinRetryMax bound the backoff between attempts
	// of a pending join (see pendingjoin.go): the first wait, doubled
	// after each failure up to the second.
	JoinRetryMin, JoinRetryMax time.Duration
	// NoJoinRetries: Run does not retry pending joins (a peer started for
	// one command leaves them to the collab that runs for longer). Join
	// still keeps a join it could not complete pending.
	NoJoinRetries bool
}

// Engine syncs the notes of a notebook with peers over a p2p.Host. Create it
// with New and run it with Run; its methods are safe for concurrent use.
type Engine struct {
	host    *p2p.Host
	nb      *notebook.Notebook
	log     *slog.Logger
	selfID  peer.ID
	self    string
	session string
	name    string
	color   string
	cfg     Config
	count   atomic.Uint64 // ephemeral messages originated
	// strangerBytes is the sum of the frames strangers' streams are
	// reading or handling (bounded by strangerFrameBudget).
	strangerBytes atomic.Int64
	// offences counts peers' bad input and refuses repeat offenders.
	offences offences

	mu       sync.Mutex
	ctx      context.Context // Run's; nil before Run
	stopped  bool            // Run returned or is returning: spawn refuses
	wg       sync.WaitGroup
	notes    map[crdt.DocumentID]*noteState
	opening  map[crdt.DocumentID]chan struct{} // being opened, or trashed (trashJoined): closed when done
	conns    map[peer.ID]*conn
	targets  map[peer.ID]*target
	dialing  map[peer.ID]*dialCall
	subs     map[int]func(Event)
	nextSub  int
	invites  sync.Mutex // serialises invitation files
	invCache listCache[notebook.Invitation]
	// joining: notes a join is under way for (Join, or a retry).
	joining   map[crdt.DocumentID]bool
	joinCache listCache[notebook.PendingJoin]

	ready     chan struct{} // closed when Run is up
	events    chan Event
	wakeDial  chan struct{}
	wakePres  chan struct{}
	wakeJoins chan struct{}

	// testSent, if set before Run, sees every frame written (tests).
	testSent func(to peer.ID, m wire.Message, size int)
}

// New makes an engine; nothing happens on the network until Run.
func New(cfg Config) (*Engine, error) {
	if cfg.Host == nil || cfg.Notebook == nil {
		return nil, errors.New("new sync engine: Host and Notebook are required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Heartbeat, DefaultHeartbeat)
	def(&cfg.PresenceTimeout, DefaultPresenceTimeout)
	def(&cfg.HandshakeTimeout, DefaultHandshakeTimeout)
	def(&cfg.SyncInterval, DefaultSyncInterval)
	def(&cfg.RedialMax, DefaultRedialMax)
	if cfg.MessageRate <= 0 {
		cfg.MessageRate = DefaultMessageRate
	}
	if cfg.SendQueue <= 0 {
		cfg.SendQueue = DefaultSendQueue
	}
	if cfg.SendQueueBytes <= 0 {
		cfg.SendQueueBytes = DefaultSendQueueBytes
	}
	def(&cfg.FrameTimeout, DefaultFrameTimeout)
	def(&cfg.IdleAfter, DefaultIdleAfter)
	if cfg.AutoCut == 0 {
		cfg.AutoCut = DefaultAutoCut
	}
	def(&cfg.JoinRetryMin, DefaultJoinRetryMin)
	def(&cfg.JoinRetryMax, DefaultJoinRetryMax)
	cfg.JoinRetryMax = max(cfg.JoinRetryMax, cfg.JoinRetryMin)
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var sess [12]byte
	if _, err := rand.Read(sess[:]); err != nil {
		return nil, fmt.Errorf("new sync engine: session id: %w", err)
	}
	name := cfg.Name
	if name == "" {
		name = cfg.Notebook.Author()
	}
	if r := []rune(name); len(r) > 64 {
		name = string(r[:64])
	}
	id := cfg.Host.ID()
	return &Engine{
		host:      cfg.Host,
		nb:        cfg.Notebook,
		log:       logger,
		selfID:    id,
		self:      id.String(),
		session:   hex.EncodeToString(sess[:]),
		name:      name,
		color:     cfg.Color,
		cfg:       cfg,
		notes:     map[crdt.DocumentID]*noteState{},
		opening:   map[crdt.DocumentID]chan struct{}{},
		conns:     map[peer.ID]*conn{},
		targets:   map[peer.ID]*target{},
		dialing:   map[peer.ID]*dialCall{},
		joining:   map[crdt.DocumentID]bool{},
		subs:      map[int]func(Event){},
		ready:     make(chan struct{}),
		events:    make(chan Event, 256),
		wakeDial:  make(chan struct{}, 1),
		wakePres:  make(chan struct{}, 1),
		wakeJoins: make(chan struct{}, 1),
	}, nil
}

// ID is this peer's senderId: its libp2p peer ID.
func (e *Engine) ID() string { return e.self }

// Run registers the sync protocol's stream handler and syncs until ctx ends.
// It owns every goroutine of the engine: per stream a reader, a writer and
// a syncer; the redialler; the mDNS follower; presence; event delivery; the
// retries of pending joins; and the Note.Run of every note it opened. It returns after all have stopped,
// with every note flushed and closed and sync states saved.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	if e.ctx != nil {
		e.mu.Unlock()
		return errors.New("sync engine: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.ctx = ctx
	notes := slices.Collect(maps.Values(e.notes))
	e.mu.Unlock()

	if err := e.loadTargets(); err != nil {
		e.log.Warn("could not read the known peers of every note", "err", err)
	}
	for _, ns := range notes {
		e.startNote(ns)
	}
	e.spawn(e.deliverEvents)
	e.spawn(e.dialLoop)
	e.spawn(e.discoveryLoop)
	e.spawn(e.presenceLoop)
	e.spawn(e.nameLoop)
	e.spawn(e.idleLoop)
	e.spawn(e.pathLoop)
	if !e.cfg.NoJoinRetries {
		e.spawn(e.joinLoop)
	}
	e.host.LibP2P().SetStreamHandler(wire.ProtocolID, e.handleStream)
	e.log.Info("sync engine started", "peer", e.self, "protocol", wire.ProtocolID)
	close(e.ready)

	<-ctx.Done()

	e.host.LibP2P().RemoveStreamHandler(wire.ProtocolID)
	e.mu.Lock()
	e.stopped = true
	conns := slices.Collect(maps.Values(e.conns))
	e.mu.Unlock()
	for _, c := range conns {
		c.sayGoodbye()
		c.shutdown("engine stopping")
	}
	e.wg.Wait()

	var errs []error
	e.mu.Lock()
	notes = slices.Collect(maps.Values(e.notes))
	e.notes = map[crdt.DocumentID]*noteState{}
	e.mu.Unlock()
	for _, ns := range notes {
		ns.unsubscribe()
		if err := ns.note.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close note %s: %w", ns.id, err))
		}
	}
	e.log.Info("sync engine stopped")
	return errors.Join(errs...)
}

// spawn runs f on a goroutine Run waits for; it reports false (and does not
// run f) once the engine is stopping or before Run.
func (e *Engine) spawn(f func(ctx context.Context)) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil || e.stopped {
		return false
	}
	ctx := e.ctx
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		f(ctx)
	}()
	return true
}

// runCtx returns Run's context, or an error if the engine is not running.
func (e *Engine) runCtx() (context.Context, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil || e.stopped || e.ctx.Err() != nil {
		return nil, ErrNotRunning
	}
	return e.ctx, nil
}

// Ready is closed once Run has started and answers peers: callers that
// start Run on a goroutine wait for it before calling Join, Share or
// Accept. It stays closed after Run returns (those then fail with
// ErrNotRunning) and is never closed if Run is not called.
func (e *Engine) Ready() <-chan struct{} { return e.ready }

// Open returns the open Note of this process for id, opening it if needed.
// The engine keeps it durable (its Note.Run commits with crdt.LivePolicy
// while a peer is connected for it, crdt.DefaultPolicy otherwise) and syncs
// it; share it with the UI rather than opening the note again. Run closes it
// when it returns.
func (e *Engine) Open(id crdt.DocumentID) (*notebook.Note, error) {
	ns, err := e.openNote(id)
	if err != nil {
		return nil, err
	}
	ns.held.Store(true)
	// The editor should not wait on its first commit: the note is made
	// ready to edit in Go (its history is loaded in the core only if that
	// cannot be done, or when a sync round needs it).
	if err := ns.note.ReadyForEdit(); err != nil {
		return nil, err
	}
	return ns.note, nil
}
