// Package replicationtest is replication's harness: it may import
// replication, and the harnesses of the layers replication may import.
package replicationtest

import (
	_ "example.com/takhin/replication"
	_ "example.com/takhin/storage/storagetest"
)
