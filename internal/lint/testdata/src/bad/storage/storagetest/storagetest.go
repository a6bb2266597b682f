// Package storagetest is storage's harness: it may import storage.
package storagetest

import (
	_ "example.com/takhin/env"
	_ "example.com/takhin/storage"
)
