// STAND-IN for the hackathon-todo services (frontend, backend, mcp, notification, sse-gateway).
//
// The app's source is not ours, so the test bed runs this small program in five images, one per
// service. It behaves like the app where the chart, the probes, the smoke checks and the
// monitoring look, and nowhere else:
//
//   - listens on $PORT (the chart sets it per service), as the non-root user of the image, on a
//     read-only root filesystem;
//   - refuses to start when a setting the service needs is missing or malformed (the chart
//     passes them from app-secrets), like the real services: the process exits 1 and says why;
//   - GET /api/health -> {"status":"ok",...}; every other path answers 200 with the service, the
//     version and the path (so ingress routing is visible); /events streams one SSE event;
//   - GET /metrics: Prometheus text, http_requests_total{service,method,path,status} and
//     http_request_duration_seconds (a histogram);
//   - one JSON log line per request on stdout;
//   - SIGTERM: stops accepting, finishes the requests in flight, exits 0 (zero-downtime rollouts);
//   - the version ($STANDIN_VERSION, set by the image) in every response and in X-App-Version.
//
// Knobs, by environment (chart values `<service>.env`) or at run time (PUT /_standin/knobs?k=v):
//
//	STANDIN_HEALTH=fail     /api/health and the probe paths answer 503
//	STANDIN_ERROR_RATE=0.2  that fraction of the other requests answers 500
//	STANDIN_BURN_MS=50      every request burns that much CPU first
//	STANDIN_START_DELAY=3s  wait before listening
//
// GET /_standin/burn?ms=N burns N ms of CPU once (load tests of the autoscaler).
//
// Events through the Dapr sidecar (publish, subscribe, deliveries): dapr.go.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// What each service needs from app-secrets (the chart's secretEnv), and how a value must look.
var required = map[string][]string{
	"frontend":     {"DATABASE_URL", "BETTER_AUTH_SECRET"},
	"backend":      {"DATABASE_URL", "BETTER_AUTH_SECRET", "OPENAI_API_KEY"},
	"mcp":          {"DATABASE_URL"},
	"notification": {"DATABASE_URL"},
	"sse-gateway":  {"BETTER_AUTH_SECRET"},
}

var buckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

type knobs struct {
	mu        sync.Mutex
	health    string
	errorRate float64
	burn      time.Duration
}

type series struct {
	count map[string]float64
	hist  map[string][]float64 // per label set: bucket counts, then sum, then count
}

var (
	service = env("SERVICE_NAME", "")
	version = env("STANDIN_VERSION", "dev")
	k       knobs
	metrics = series{count: map[string]float64{}, hist: map[string][]float64{}}
	mmu     sync.Mutex
)

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func logJSON(level, msg string, fields map[string]any) {
	rec := map[string]any{"ts": time.Now().UTC().Format(time.RFC3339Nano), "level": level, "msg": msg,
		"service": service, "version": version}
	for key, v := range fields {
		rec[key] = v
	}
	b, _ := json.Marshal(rec)
	fmt.Println(string(b))
}

func fatal(msg string, fields map[string]any) {
	logJSON("error", msg, fields)
	os.Exit(1)
}

func checkSettings() {
	needs, known := required[service]
	if !known {
		fatal("SERVICE_NAME must be one of frontend, backend, mcp, notification, sse-gateway", map[string]any{"got": service})
	}
	for _, name := range needs {
		v := os.Getenv(name)
		switch {
		case v == "":
			fatal(name+" is not set: the service cannot start without it (app-secrets)", nil)
		case strings.HasSuffix(name, "DATABASE_URL") && !strings.HasPrefix(v, "postgres://") && !strings.HasPrefix(v, "postgresql://"):
			fatal(name+" is not a PostgreSQL URL (postgres://...)", nil)
		}
	}
	if _, err := strconv.Atoi(env("PORT", "")); err != nil {
		fatal("PORT must be a number", map[string]any{"got": os.Getenv("PORT")})
	}
}

func setKnob(key, value string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch key {
	case "health":
		if value != "ok" && value != "fail" {
			return errors.New("health must be ok or fail")
		}
		k.health = value
	case "error_rate":
		f, err := strconv.ParseFloat(value, 64)
		if err != nil || f < 0 || f > 1 {
			return errors.New("error_rate must be a number from 0 to 1")
		}
		k.errorRate = f
	case "burn_ms":
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 {
			return errors.New("burn_ms must be a whole number of milliseconds")
		}
		k.burn = time.Duration(n) * time.Millisecond
	default:
		return fmt.Errorf("unknown knob %q (health, error_rate, burn_ms)", key)
	}
	return nil
}

func burn(d time.Duration) {
	end := time.Now().Add(d)
	x := 0
	for time.Now().Before(end) {
		for i := 0; i < 10000; i++ {
			x += i * i
		}
	}
	_ = x
}

// The probe paths of the chart: / (frontend), /api/health (backend), /metrics (notification,
// sse-gateway); /api/health everywhere.
func isHealthPath(p string) bool {
	if p == "/api/health" {
		return true
	}
	switch service {
	case "frontend":
		return p == "/"
	case "notification", "sse-gateway":
		return p == "/metrics"
	}
	return false
}

func labelKey(method, path string, status int) string {
	return fmt.Sprintf(`service=%q,method=%q,path=%q,status="%d"`, service, method, path, status)
}

func record(method, path string, status int, secs float64) {
	// Bounded label values: known paths as they are, everything else under one label.
	switch {
	case path == "/" || path == "/api/health" || path == "/metrics" || path == "/events" || strings.HasPrefix(path, "/_standin/"):
	default:
		path = "other"
	}
	lk := labelKey(method, path, status)
	hk := fmt.Sprintf(`service=%q,method=%q,path=%q`, service, method, path)
	mmu.Lock()
	defer mmu.Unlock()
	metrics.count[lk]++
	h, ok := metrics.hist[hk]
	if !ok {
		h = make([]float64, len(buckets)+2)
		metrics.hist[hk] = h
	}
	for i, b := range buckets {
		if secs <= b {
			h[i]++
		}
	}
	h[len(buckets)] += secs
	h[len(buckets)+1]++
}

func writeMetrics(w http.ResponseWriter) {
	mmu.Lock()
	defer mmu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintln(w, "# HELP http_requests_total Requests served, by status code.")
	fmt.Fprintln(w, "# TYPE http_requests_total counter")
	keys := make([]string, 0, len(metrics.count))
	for key := range metrics.count {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		fmt.Fprintf(w, "http_requests_total{%s} %g\n", key, metrics.count[key])
	}
	fmt.Fprintln(w, "# HELP http_request_duration_seconds Request latency.")
	fmt.Fprintln(w, "# TYPE http_request_duration_seconds histogram")
	keys = keys[:0]
	for key := range metrics.hist {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		h := metrics.hist[key]
		for i, b := range buckets {
			fmt.Fprintf(w, "http_request_duration_seconds_bucket{%s,le=\"%g\"} %g\n", key, b, h[i])
		}
		fmt.Fprintf(w, "http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %g\n", key, h[len(buckets)+1])
		fmt.Fprintf(w, "http_request_duration_seconds_sum{%s} %g\n", key, h[len(buckets)])
		fmt.Fprintf(w, "http_request_duration_seconds_count{%s} %g\n", key, h[len(buckets)+1])
	}
	fmt.Fprintln(w, "# HELP standin_info The stand-in's service and version.")
	fmt.Fprintln(w, "# TYPE standin_info gauge")
	fmt.Fprintf(w, "standin_info{service=%q,version=%q} 1\n", service, version)
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func reply(w http.ResponseWriter, status int, body map[string]any) {
	body["service"], body["version"] = service, version
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func handle(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	health, rate, burnFor := k.health, k.errorRate, k.burn
	k.mu.Unlock()
	w.Header().Set("X-App-Version", version)
	w.Header().Set("X-App-Service", service)
	p := r.URL.Path
	switch {
	case p == "/_standin/knobs" && r.Method == http.MethodPut:
		for key, vals := range r.URL.Query() {
			if err := setKnob(key, vals[len(vals)-1]); err != nil {
				reply(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
				return
			}
		}
		reply(w, http.StatusOK, map[string]any{"knobs": "set"})
		return
	case p == "/_standin/burn":
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		burn(time.Duration(min(max(ms, 0), 5000)) * time.Millisecond)
		reply(w, http.StatusOK, map[string]any{"burned_ms": ms})
		return
	}
	if burnFor > 0 {
		burn(burnFor)
	}
	if isHealthPath(p) && health == "fail" {
		reply(w, http.StatusServiceUnavailable, map[string]any{"status": "failing", "reason": "STANDIN_HEALTH=fail"})
		return
	}
	if handleDapr(w, r) {
		return
	}
	switch {
	case p == "/metrics":
		writeMetrics(w)
	case p == "/api/health":
		reply(w, http.StatusOK, map[string]any{"status": "ok"})
	case !isHealthPath(p) && rate > 0 && rand.Float64() < rate:
		reply(w, http.StatusInternalServerError, map[string]any{"error": "injected (STANDIN_ERROR_RATE)"})
	case p == "/events" || strings.HasPrefix(p, "/events/"):
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		fmt.Fprintf(w, "event: hello\ndata: {\"service\":%q,\"version\":%q}\n\n", service, version)
	default:
		reply(w, http.StatusOK, map[string]any{"path": p})
	}
}

func main() {
	checkSettings()
	for _, kv := range [][2]string{{"STANDIN_HEALTH", "health"}, {"STANDIN_ERROR_RATE", "error_rate"}, {"STANDIN_BURN_MS", "burn_ms"}} {
		if v := os.Getenv(kv[0]); v != "" {
			if err := setKnob(kv[1], v); err != nil {
				fatal(kv[0]+": "+err.Error(), nil)
			}
		}
	}
	if d := os.Getenv("STANDIN_START_DELAY"); d != "" {
		delay, err := time.ParseDuration(d)
		if err != nil {
			fatal("STANDIN_START_DELAY must be a duration (3s)", nil)
		}
		time.Sleep(delay)
	}
	srv := &http.Server{
		Addr:              ":" + os.Getenv("PORT"),
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &recorder{ResponseWriter: w, status: http.StatusOK}
			handle(rec, r)
			secs := time.Since(start).Seconds()
			if r.URL.Path != "/metrics" || rec.status != http.StatusOK {
				record(r.Method, r.URL.Path, rec.status, secs)
			}
			if !isHealthPath(r.URL.Path) || rec.status != http.StatusOK {
				logJSON("info", "request", map[string]any{"method": r.Method, "path": r.URL.Path,
					"status": rec.status, "duration_ms": secs * 1000, "remote": r.RemoteAddr})
			}
		}),
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan struct{})
	go func() {
		s := <-stop
		logJSON("info", "shutting down: finishing requests in flight", map[string]any{"signal": s.String()})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			logJSON("error", "shutdown: "+err.Error(), nil)
		}
		close(done)
	}()
	logJSON("info", "listening", map[string]any{"port": os.Getenv("PORT")})
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		fatal("listen: "+err.Error(), nil)
	}
	<-done
	logJSON("info", "stopped", nil)
}
