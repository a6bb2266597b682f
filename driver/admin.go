package driver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// The admin endpoint (takhin serve --admin-addr, 127.0.0.1:9644 by
// default, the port Redpanda's admin API uses):
//
//	GET /metrics  Prometheus text format, the node's own registry
//	GET /healthz  200 "ok" while the process serves HTTP at all
//	GET /readyz   200 "ok" (or "ok; N partitions offline …") once the
//	              metadata image is loaded and every partition recovered;
//	              503 with the reason before that and while stopping
//	GET /debug/pprof/...  Go's runtime profiles (net/http/pprof), e.g.
//	              go tool pprof http://127.0.0.1:9644/debug/pprof/profile?seconds=10
//
// It is plain HTTP with no authentication, like Kafka's JMX exporter:
// bind it to loopback or a private interface.

// AdminHandler serves the admin endpoints; ready is Readiness.Ready (or
// Node.Ready). A nil m serves an empty /metrics.
func AdminHandler(m *Metrics, ready func() (bool, string)) http.Handler {
	mux := http.NewServeMux()
	if m != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry(), promhttp.HandlerOpts{}))
	} else {
		mux.HandleFunc("GET /metrics", func(http.ResponseWriter, *http.Request) {})
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		ok, reason := ready()
		status := http.StatusOK
		if !ok {
			status = http.StatusServiceUnavailable
		}
		writeText(w, status, reason)
	})
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = fmt.Fprintln(w, body)
}

// AdminServer is the admin endpoint's HTTP server.
type AdminServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// adminReadHeaderTimeout bounds a slow client's headers (slowloris).
const adminReadHeaderTimeout = 10 * time.Second

// ServeAdmin listens on addr and serves AdminHandler until Close.
func ServeAdmin(addr string, m *Metrics, ready func() (bool, string), log *zap.Logger) (*AdminServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("driver: admin listen on %s: %w", addr, err)
	}
	a := &AdminServer{ln: ln, done: make(chan struct{}),
		srv: &http.Server{Handler: AdminHandler(m, ready), ReadHeaderTimeout: adminReadHeaderTimeout}}
	go func() {
		defer close(a.done)
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && log != nil {
			log.Error("admin endpoint stopped", zap.Error(err))
		}
	}()
	return a, nil
}

// Addr is the address the admin endpoint listens on.
func (a *AdminServer) Addr() string { return a.ln.Addr().String() }

// Close stops the server, letting requests in progress finish until ctx
// ends.
func (a *AdminServer) Close(ctx context.Context) error {
	err := a.srv.Shutdown(ctx)
	<-a.done
	return err
}
