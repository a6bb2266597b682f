// Command takhin is the Takhin broker, its simulator and its tools, as
// subcommands of one binary. It owns everything the core must not do: flags,
// wall-clock budgets, file output and process exit codes.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: takhin <command> [flags]

commands:
  serve     run a broker (Kafka listener on 127.0.0.1:9092, data in ./takhin-data)
  sim       run the deterministic simulator: --seed N, or --seconds S to sweep
  bench     load any Kafka (--brokers host:port), or --compare Takhin, kfake and a ceiling
  debug     bundle: zip config, log tail, /metrics and partition state for a bug report
  version   print the version

client commands (any Kafka; --brokers host:port, env TAKHIN_BROKERS, default 127.0.0.1:9092;
--format json for stable JSON; 'takhin <command> help' lists the sub-commands):
  topic     create | list | describe | delete | alter-config | add-partitions
  group     list | describe | delete | seek
  cluster   info | config get | config set
  produce   TOPIC: stdin lines become records (--key-delim, -H key=value, --format json)
  consume   TOPIC: records to stdout (--offset start|end|N, -n, --group, --format json or a template)

` + cliExitCodes

// version is set by the Makefile with -ldflags.
var version = "dev"

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return runServe(args[1:], stdout, stderr)
	case "sim":
		return runSim(args[1:], stdout, stderr)
	case "bench":
		return runBench(args[1:], stdout, stderr)
	case "topic":
		return runTopic(args[1:], stdout, stderr)
	case "group":
		return runGroup(args[1:], stdout, stderr)
	case "cluster":
		return runCluster(args[1:], stdout, stderr)
	case "produce":
		return runProduce(args[1:], stdout, stderr)
	case "consume":
		return runConsume(args[1:], stdout, stderr)
	case "debug":
		return runDebug(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "takhin", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "takhin: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
