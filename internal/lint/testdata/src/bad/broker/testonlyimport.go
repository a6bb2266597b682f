package broker

// Production code imports no harness and not the lint.
import (
	_ "example.com/takhin/replication"         // a layer below: fine
	_ "example.com/takhin/storage/storagetest" // planted: TestOnlyImport

	//lint:ignore TestOnlyImport fixture: proves the escape hatch suppresses
	_ "example.com/takhin/internal/lint"
)
