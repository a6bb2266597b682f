package storage

import (
	"net" // planted: BannedImport
	"net/netip"

	//lint:ignore BannedImport fixture: proves the escape hatch suppresses
	"crypto/rand"
)

var (
	_ net.Conn
	_ netip.Addr // pure values: fine
	_ = rand.Reader
)
