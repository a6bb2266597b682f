package storage

// compact has a directive without a reason: it suppresses nothing and is
// reported.
func compact() int {
	//lint:ignore WallClock
	return 0
}
