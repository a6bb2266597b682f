module github.com/takhin-io/takhin

go 1.26.0

require (
	github.com/spf13/afero v1.15.0
	go.uber.org/zap v1.28.0
	pgregory.net/rapid v1.3.0
)

require (
	go.uber.org/multierr v1.10.0 // indirect
	golang.org/x/text v0.28.0 // indirect
)
