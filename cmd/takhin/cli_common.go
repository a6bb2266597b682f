package main

// What every client subcommand (`takhin topic|group|cluster|produce|
// consume`, the rpk-like CLI of issue 7) shares: flag parsing with flags
// after positional arguments, the --brokers/--timeout/--format flags, the
// connection check, output as tables or JSON, and the exit codes scripts
// rely on. The files:
//
//	cli_common.go   this file
//	cli_topic.go    topic create|list|describe|delete|alter-config|add-partitions
//	cli_group.go    group list|describe|delete|seek
//	cli_cluster.go  cluster info, cluster config get|set
//	cli_produce.go  produce TOPIC (stdin lines to records)
//	cli_consume.go  consume TOPIC (records to stdout)
//
// Everything speaks the Kafka protocol through franz-go (kadm, kgo), so the
// CLI works against Apache Kafka too. A command is `func(args, stdout,
// stderr) int`, callable in-process (the tests run the kfake ones so).

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The exit codes of every client subcommand, documented in usage.
const (
	exitOK      = 0 // success
	exitKafka   = 1 // a Kafka error code or a failed request
	exitUsage   = 2 // bad flags or arguments
	exitConnect = 3 // no broker of --brokers could be reached
)

const (
	brokersDefault = "127.0.0.1:9092"
	brokersEnv     = "TAKHIN_BROKERS"
	dialTimeoutMax = 5 * time.Second // the connection check's per-broker dial
)

const cliExitCodes = `exit codes:
  0  success
  1  a Kafka error (the message names the error code, e.g. UNKNOWN_TOPIC_OR_PARTITION (3)) or a failed request
  2  usage error (bad flag or argument)
  3  could not connect to any broker of --brokers
`

// cli is one client subcommand invocation: its name for messages, its
// streams, its flag set and the common flags.
type cli struct {
	name           string // "topic create"
	stdout, stderr io.Writer
	fs             *flag.FlagSet
	brokers        string
	timeout        time.Duration
	format         string // --format
	textOrJSON     bool   // --format is the common text|json flag
	exit           int    // the exit code when parse returns false
}

// newCLI makes the flag set of `takhin <name>` with --brokers and
// --timeout; synopsis heads its -h output.
func newCLI(name, synopsis string, stdout, stderr io.Writer) *cli {
	c := &cli{name: name, stdout: stdout, stderr: stderr}
	c.fs = flag.NewFlagSet(name, flag.ContinueOnError)
	c.fs.SetOutput(stderr)
	c.fs.Usage = func() {
		fmt.Fprintf(c.fs.Output(), "usage: takhin %s %s\n\nflags:\n", name, synopsis)
		c.fs.PrintDefaults()
		fmt.Fprint(c.fs.Output(), "\n"+cliExitCodes)
	}
	brokers := os.Getenv(brokersEnv)
	if brokers == "" {
		brokers = brokersDefault
	}
	c.fs.StringVar(&c.brokers, "brokers", brokers, "comma-separated host:port seed brokers (env "+brokersEnv+")")
	c.fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "give up on the requests after this long")
	return c
}

// withFormat adds the common --format: a human table or JSON.
func (c *cli) withFormat() *cli {
	c.textOrJSON = true
	c.fs.StringVar(&c.format, "format", "text", "output: text (tables) or json (stable field names)")
	return c
}

// parse parses args, which may mix flags and positional arguments (as in
// `topic create orders -p 3`), and checks the positional count is within
// [minArgs, maxArgs] (maxArgs < 0: unbounded) and --format. When it
// returns false, c.exit is the exit code: 0 after -h, else 2.
func (c *cli) parse(args []string, minArgs, maxArgs int, what string) ([]string, bool) {
	var positional []string
	for {
		if err := c.fs.Parse(args); err != nil {
			c.exit = exitUsage
			if errors.Is(err, flag.ErrHelp) {
				c.exit = exitOK
			}
			return nil, false
		}
		rest := c.fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional, args = append(positional, rest[0]), rest[1:]
	}
	if len(positional) < minArgs || (maxArgs >= 0 && len(positional) > maxArgs) {
		c.exit = c.usagef("want %s, got %d argument(s)", what, len(positional))
		return nil, false
	}
	if c.textOrJSON && c.format != "text" && c.format != "json" {
		c.exit = c.usagef("--format %q: want text or json", c.format)
		return nil, false
	}
	return positional, true
}

// usagef reports a usage error (exit code 2).
func (c *cli) usagef(format string, args ...any) int {
	fmt.Fprintf(c.stderr, "takhin %s: %s\n", c.name, fmt.Sprintf(format, args...))
	fmt.Fprintf(c.stderr, "run 'takhin %s -h' for its flags\n", c.name)
	return exitUsage
}

// fail reports err and returns its exit code: 3 when it is a failed
// dial, 1 otherwise.
func (c *cli) fail(err error) int {
	fmt.Fprintf(c.stderr, "takhin %s: %s\n", c.name, errText(err))
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return exitConnect
	}
	return exitKafka
}

// failf reports a Kafka error about one resource (exit code 1).
func (c *cli) failf(format string, args ...any) int {
	fmt.Fprintf(c.stderr, "takhin %s: %s\n", c.name, fmt.Sprintf(format, args...))
	return exitKafka
}

// errText names the Kafka error code when err holds one, so that
// "UNKNOWN_TOPIC_OR_PARTITION (3): ..." reaches the user, and says so
// when the broker does not implement the request at all.
func errText(err error) string {
	var ke *kerr.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ke):
		return fmt.Sprintf("%s (%d): %s", ke.Message, ke.Code, ke.Description)
	case unsupported(err):
		return "the broker does not support this request (it is missing from its ApiVersions): " + err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out (see --timeout): " + err.Error()
	}
	return err.Error()
}

// unsupported reports whether err says the broker does not implement the
// request: kgo's unexported errBrokerTooOld, or UNSUPPORTED_VERSION.
func unsupported(err error) bool {
	return errors.Is(err, kerr.UnsupportedVersion) || strings.Contains(err.Error(), "broker is too old")
}

// errUnknownTopic is checked before produce and consume, where kgo
// would wait for the topic to appear.
var errUnknownTopic error = kerr.UnknownTopicOrPartition

// jsonError is an error in JSON output: the Kafka code and name when
// there is one (code 0 and name "" for a client-side failure).
type jsonError struct {
	Code    int16  `json:"code"`
	Name    string `json:"name"`
	Message string `json:"message"`
}

func toJSONError(err error, detail string) *jsonError {
	if err == nil {
		return nil
	}
	e := &jsonError{Message: errText(err)}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		e.Code, e.Name = ke.Code, ke.Message
	}
	if detail != "" {
		e.Message += " (" + detail + ")"
	}
	return e
}

// statusText is an error's table cell: OK, or the Kafka error and the
// broker's message.
func statusText(err error, detail string) string {
	if err == nil {
		return "OK"
	}
	if detail != "" {
		return errText(err) + " (" + detail + ")"
	}
	return errText(err)
}

// seeds splits --brokers.
func (c *cli) seeds() []string {
	var out []string
	for _, s := range strings.Split(c.brokers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// reachable dials the seed brokers until one answers, so that "nothing
// listening" is exit code 3 at once rather than kgo's retries until
// --timeout.
func (c *cli) reachable() error {
	var last error
	timeout := min(c.timeout, dialTimeoutMax)
	for _, s := range c.seeds() {
		conn, err := net.DialTimeout("tcp", s, timeout)
		if err == nil {
			conn.Close()
			return nil
		}
		last = err
	}
	return fmt.Errorf("could not connect to any broker of --brokers %s: %w", c.brokers, last)
}

// client checks the brokers are reachable and returns a kgo client for
// them with opts; on failure it has reported the error and returns the
// exit code.
func (c *cli) client(opts ...kgo.Opt) (*kgo.Client, int) {
	if len(c.seeds()) == 0 {
		return nil, c.usagef("--brokers is empty")
	}
	if err := c.reachable(); err != nil {
		fmt.Fprintf(c.stderr, "takhin %s: %v\n", c.name, err)
		return nil, exitConnect
	}
	opts = append([]kgo.Opt{kgo.SeedBrokers(c.seeds()...), kgo.ClientID("takhin-cli")}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, c.usagef("%v", err)
	}
	return cl, exitOK
}

// admin runs fn with an admin client and a context bounded by --timeout,
// returning fn's exit code (or the connection's).
func (c *cli) admin(fn func(ctx context.Context, adm *kadm.Client) int) int {
	cl, code := c.client()
	if cl == nil {
		return code
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	return fn(ctx, kadm.NewClient(cl))
}

// writeJSON prints v as indented JSON and a newline.
func (c *cli) writeJSON(v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("cli output does not marshal: %v", err)) // our own types always marshal
	}
	c.stdout.Write(append(b, '\n'))
}

// table writes aligned columns to w; Flush ends it.
type cliTable struct{ tw *tabwriter.Writer }

func newCLITable(w io.Writer, header ...string) *cliTable {
	t := &cliTable{tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(toAny(header)...)
	}
	return t
}

func (t *cliTable) row(cells ...any) {
	s := make([]string, len(cells))
	for i, cell := range cells {
		s[i] = fmt.Sprint(cell)
	}
	fmt.Fprintln(t.tw, strings.Join(s, "\t"))
}

func (t *cliTable) flush() { t.tw.Flush() }

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// listFlag is a repeatable string flag (-c k=v -c k2=v2).
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// splitKV splits "key=value"; the key must not be empty.
func splitKV(s string) (string, string, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return "", "", fmt.Errorf("%q: want key=value", s)
	}
	return k, v, nil
}

// subcommand dispatches `takhin <group> <sub> ...` to cmds, printing
// usage for help or an unknown sub-command.
func subcommand(group, usage string, cmds map[string]func([]string, io.Writer, io.Writer) int,
	args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "takhin %s: unknown command %q\n\n%s", group, args[0], usage)
		return exitUsage
	}
	return cmd(args[1:], stdout, stderr)
}

// int32List formats node ids as [1 2 3].
func int32List(ids []int32) string { return fmt.Sprint(ids) }
