package env

// ConnID names one connection for its whole life; ids are never reused
// within a process (or a simulated node's incarnation).
type ConnID uint64

// Network is frame-level: it carries whole Kafka frames (the 4-byte size
// prefix already stripped by the shared framer) and connection events.
// Connections behave like TCP: frames on one connection arrive in order or
// the connection breaks; faults act on whole connections.
//
// The events a Network produces (ConnOpened, FrameIn, ConnClosed) reach
// machines through their driver, stamped with now; the methods below are
// the actions a driver carries out for a machine's Ready.
type Network interface {
	// Send queues one frame (without its size prefix) on conn.
	Send(conn ConnID, frame []byte) error
	// Close closes conn after the frames already queued are sent.
	Close(conn ConnID) error
	// Pause stops reading conn (back-pressure); Resume restarts it.
	Pause(conn ConnID)
	Resume(conn ConnID)
}

// Env bundles the seams a driver or an executor is given. Machines never
// receive it: they get {Rand, Log, config} only.
type Env struct {
	FS    FS
	Net   Network
	Clock Clock
}

// NetEvent is what a Network's connections report to their owner: one of
// ConnOpened, FrameIn or ConnClosed. Per connection: ConnOpened first,
// frames in the order they arrived, ConnClosed once and last.
type NetEvent interface{ netEvent() }

// ConnOpened: Conn is a new connection (accepted, or a dial completed).
type ConnOpened struct {
	Conn   ConnID
	Remote string // the peer, for logs
}

// FrameIn is one frame read from Conn, without its size prefix; the
// receiver owns Frame. A zero-size frame arrives as an empty slice.
type FrameIn struct {
	Conn  ConnID
	Frame []byte
}

// ConnClosed: Conn is gone; Err says why (nil after a completed Close;
// each Network documents its errors).
type ConnClosed struct {
	Conn ConnID
	Err  error
}

func (ConnOpened) netEvent() {}
func (FrameIn) netEvent()    {}
func (ConnClosed) netEvent() {}
