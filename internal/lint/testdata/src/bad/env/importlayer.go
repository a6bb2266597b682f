package env

// env is a leaf: an import of any other layer points up.
import (
	_ "example.com/takhin/storage" // planted: ImportLayer

	//lint:ignore ImportLayer fixture: proves the escape hatch suppresses
	_ "example.com/takhin/broker"
)
