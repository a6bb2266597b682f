package main

import (
	"archive/zip"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/takhin-io/takhin/driver/osfs"
	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/storage"
)

// `takhin debug bundle` zips what a bug report needs from one node: its
// config file, the tail of its log, a /metrics and /readyz scrape, and the
// state of every partition directory (files and sizes, checkpoints
// decoded) — never segment or index data, so no record leaves the host.
// It only reads: it runs next to a live broker or a stopped one.

const debugUsage = `usage: takhin debug bundle [flags]

Zips the config file, the tail of the log file, a /metrics scrape and the
partition state (directory listings with sizes, checkpoints decoded; never
segment data) into one file to attach to a bug report.
`

// debugLogTailBytes bounds the log tail a bundle keeps.
const debugLogTailBytes = 16 << 20

// debugSnapshotBytesMax bounds a producer snapshot the bundle decodes.
const debugSnapshotBytesMax = 64 << 20

// debugScrapeTimeout bounds each admin-endpoint request.
const debugScrapeTimeout = 5 * time.Second

type debugFlags struct {
	dataDir, adminAddr, configFile, logFile, out string
	set                                          map[string]bool
}

func runDebug(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "bundle" {
		fmt.Fprint(stderr, debugUsage)
		return 2
	}
	var f debugFlags
	fs := flag.NewFlagSet("debug bundle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.dataDir, "data-dir", "./takhin-data", "the broker's data directory (default: log.dirs of --config, else ./takhin-data)")
	fs.StringVar(&f.adminAddr, "admin-addr", defaultAdminAddr, `the broker's admin endpoint to scrape ("" or off: none)`)
	fs.StringVar(&f.configFile, "config", "", "the broker's YAML config file")
	fs.StringVar(&f.logFile, "log", "", "the broker's log file (takhin serve logs to stderr: where it was redirected)")
	fs.StringVar(&f.out, "o", "", "the zip to write (default: takhin-debug-<UTC time>.zip)")
	if fs.Parse(args[1:]) != nil {
		return 2
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	if f.out == "" {
		f.out = "takhin-debug-" + time.Now().UTC().Format("20060102T150405Z") + ".zip"
	}
	if err := writeBundle(f); err != nil {
		fmt.Fprintln(stderr, "takhin debug bundle:", err)
		return 1
	}
	fmt.Fprintln(stdout, f.out)
	return 0
}

// bundle is a zip being written, with the manifest of what went in and
// what could not.
type bundle struct {
	zw       *zip.Writer
	manifest []string
}

func (b *bundle) note(format string, args ...any) {
	b.manifest = append(b.manifest, fmt.Sprintf(format, args...))
}

func (b *bundle) add(name string, body []byte) error {
	w, err := b.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: time.Now()})
	if err == nil {
		_, err = w.Write(body)
	}
	return err
}

// writeBundle writes the zip; a part that cannot be read is noted in the
// manifest, and only a failure to write the zip itself is an error.
func writeBundle(f debugFlags) error {
	out, err := os.Create(f.out)
	if err != nil {
		return err
	}
	b := &bundle{zw: zip.NewWriter(out)}
	b.note("takhin %s debug bundle, %s", version, time.Now().UTC().Format(time.RFC3339))
	errs := []error{
		b.addConfig(f.configFile),
		b.addLogTail(f.logFile),
		b.addScrape(f.adminAddr),
		b.addPartitions(debugDataDir(f)),
	}
	errs = append(errs, b.add("manifest.txt", []byte(strings.Join(b.manifest, "\n")+"\n")), b.zw.Close(), out.Close())
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// debugDataDir is --data-dir when given, else the config file's log.dirs
// (resolved as serve does), else the default.
func debugDataDir(f debugFlags) string {
	if f.set["data-dir"] || f.configFile == "" {
		return f.dataDir
	}
	_, dir, err := loadConfig(serveFlags{configFile: f.configFile, dataDir: f.dataDir, nodeID: 1, set: map[string]bool{}})
	if err != nil {
		return f.dataDir
	}
	return dir
}

func (b *bundle) addConfig(path string) error {
	if path == "" {
		b.note("config: none given (--config)")
		return nil
	}
	body, err := os.ReadFile(path)
	if err != nil {
		b.note("config: %v", err)
		return nil
	}
	b.note("config: %s", path)
	return b.add("config/"+filepath.Base(path), body)
}

// addLogTail keeps the last debugLogTailBytes of the log file.
func (b *bundle) addLogTail(path string) error {
	if path == "" {
		b.note("log: none given (--log)")
		return nil
	}
	file, err := os.Open(path)
	if err != nil {
		b.note("log: %v", err)
		return nil
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		b.note("log: %v", err)
		return nil
	}
	from := max(info.Size()-debugLogTailBytes, 0)
	body, err := io.ReadAll(io.NewSectionReader(file, from, info.Size()-from))
	if err != nil {
		b.note("log: %v", err)
		return nil
	}
	b.note("log: %s, last %d of %d bytes", path, len(body), info.Size())
	return b.add("logs/"+filepath.Base(path), body)
}

// addScrape saves /metrics and /readyz when the admin endpoint answers.
func (b *bundle) addScrape(addr string) error {
	if addr == "" || addr == "off" {
		b.note("metrics: no admin endpoint (--admin-addr)")
		return nil
	}
	client := &http.Client{Timeout: debugScrapeTimeout}
	for _, ep := range []struct{ path, entry string }{{"/metrics", "metrics.txt"}, {"/readyz", "readyz.txt"}} {
		resp, err := client.Get("http://" + addr + ep.path)
		if err != nil {
			b.note("%s: %v", ep.path, err)
			continue
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			b.note("%s: %v", ep.path, err)
			continue
		}
		b.note("%s: http://%s%s answered %s", ep.path, addr, ep.path, resp.Status)
		if err := b.add(ep.entry, append([]byte(fmt.Sprintf("HTTP %s\n", resp.Status)), body...)); err != nil {
			return err
		}
	}
	return nil
}

// debugCheckpoints are the checkpoint files storage can read, with their
// kinds; the file name stays the entry's name.
var debugCheckpoints = []struct{ name, kind string }{
	{"partition.checkpoint", "partition"},
	{"leader-epoch-checkpoint", "leader-epochs"},
	{"partition.metadata", "partition-metadata"},
}

// addPartitions lists the data directory (every file with its size) and
// decodes each partition directory's checkpoints and producer snapshots.
func (b *bundle) addPartitions(dataDir string) error {
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		b.note("partitions: %v", err)
		return nil
	}
	b.note("partitions: data directory %s", dataDir)
	var listing strings.Builder
	fsys := osfs.New(dataDir)
	for _, e := range entries {
		if !e.IsDir() {
			listing.WriteString(describeFile(dataDir, e.Name()))
			continue
		}
		listing.WriteString(e.Name() + "/\n")
		files, err := os.ReadDir(filepath.Join(dataDir, e.Name()))
		if err != nil {
			fmt.Fprintf(&listing, "  error: %v\n", err)
			continue
		}
		for _, file := range files {
			listing.WriteString("  " + describeFile(filepath.Join(dataDir, e.Name()), file.Name()))
		}
		if err := b.addPartitionState(fsys, e.Name(), files); err != nil {
			return err
		}
	}
	return b.add("partitions/listing.txt", []byte(listing.String()))
}

// describeFile is one listing line: the name and its size in bytes.
func describeFile(dir, name string) string {
	info, err := os.Stat(filepath.Join(dir, name))
	if err != nil {
		return fmt.Sprintf("%s  error: %v\n", name, err)
	}
	return fmt.Sprintf("%s  %d\n", name, info.Size())
}

// addPartitionState decodes one partition directory's checkpoints and
// producer snapshots into partitions/<dir>/<file>.
func (b *bundle) addPartitionState(fsys env.FS, dir string, files []os.DirEntry) error {
	for _, c := range debugCheckpoints {
		lines, found, err := storage.ReadCheckpoint(fsys, dir, c.name, c.kind)
		var body string
		switch {
		case err != nil:
			body = fmt.Sprintf("unreadable: %v\n", err)
		case !found:
			continue
		default:
			body = strings.Join(lines, "\n") + "\n"
		}
		if err := b.add("partitions/"+dir+"/"+c.name, []byte(body)); err != nil {
			return err
		}
	}
	for _, file := range files {
		if !strings.HasSuffix(file.Name(), ".snapshot") {
			continue
		}
		if err := b.add("partitions/"+dir+"/"+file.Name()+".txt", []byte(describeSnapshot(fsys, dir+"/"+file.Name()))); err != nil {
			return err
		}
	}
	return nil
}

// describeSnapshot decodes an idempotent-producer snapshot: one line per
// producer.
func describeSnapshot(fsys env.FS, name string) string {
	file, err := fsys.Open(name)
	if err != nil {
		return fmt.Sprintf("unreadable: %v\n", err)
	}
	defer file.Close()
	size, err := file.Size()
	switch {
	case err != nil:
		return fmt.Sprintf("unreadable: %v\n", err)
	case size > debugSnapshotBytesMax:
		return fmt.Sprintf("not decoded: %d bytes\n", size)
	}
	raw := make([]byte, size)
	if _, err := file.ReadAt(raw, 0); err != nil && err != io.EOF {
		return fmt.Sprintf("unreadable: %v\n", err)
	}
	state, err := storage.DecodeProducerState(raw)
	if err != nil {
		return fmt.Sprintf("undecodable: %v\n", err)
	}
	var s strings.Builder
	fmt.Fprintf(&s, "%d producers\n", state.Len())
	for _, p := range state.Producers() {
		fmt.Fprintf(&s, "%+v\n", p)
	}
	return s.String()
}
