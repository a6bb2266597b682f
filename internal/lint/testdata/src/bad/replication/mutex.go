package replication

import "sync"

// tracker lives in a machine package and takes a lock: caught.
type tracker struct {
	mu sync.Mutex // planted: Mutex
	//lint:ignore Mutex fixture: proves the escape hatch suppresses
	rw   sync.RWMutex
	once sync.Once // other sync types are not banned
}
