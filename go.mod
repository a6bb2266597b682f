module github.com/takhin-io/takhin

go 1.26.0

require (
	github.com/cockroachdb/datadriven v1.0.3
	github.com/spf13/afero v1.15.0
	github.com/twmb/franz-go/pkg/kmsg v1.15.1
	go.uber.org/zap v1.28.0
	pgregory.net/rapid v1.3.0
)

require (
	github.com/pmezard/go-difflib v1.0.0 // indirect
	go.uber.org/multierr v1.10.0 // indirect
	golang.org/x/text v0.28.0 // indirect
)
