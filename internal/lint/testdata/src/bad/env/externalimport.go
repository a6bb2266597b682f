package env

// env's non-test files may import only the standard library.
import (
	_ "hash/fnv"

	_ "github.com/spf13/afero" // planted: ExternalImport

	//lint:ignore ExternalImport fixture: proves the escape hatch suppresses
	_ "go.uber.org/zap"
)
