// The stand-in's events, through its Dapr sidecar, as the app's services use Dapr (the published
// design: the backend publishes task events to the pub/sub component, the notification service
// subscribes to them):
//
//   - POST /api/tasks (backend): publishes a task event {"type":"task.created","id","title"} to
//     $TOPIC_TASK_EVENTS through POST http://127.0.0.1:$DAPR_HTTP_PORT/v1.0/publish/$DAPR_PUBSUB_NAME/<topic>;
//     201 with the event when Dapr accepted it, otherwise Dapr's status and answer;
//   - POST /_standin/publish?topic=T: the same to any topic T (tests of the broker's ACLs: what
//     Dapr answers when the broker refuses);
//   - GET /dapr/subscribe: the notification service subscribes $TOPIC_TASK_EVENTS (route
//     /dapr/events/task); every other service subscribes nothing;
//   - POST /dapr/events/task: a delivered CloudEvent, kept (the newest 100) and answered SUCCESS;
//   - GET /_standin/received: the events delivered so far.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

const taskRoute = "/dapr/events/task"

var (
	received   []map[string]any
	receivedMu sync.Mutex
	published  int
	daprClient = &http.Client{Timeout: 15 * time.Second}
)

// handleDapr answers the Dapr paths; false when the path is not one of them.
func handleDapr(w http.ResponseWriter, r *http.Request) bool {
	p := r.URL.Path
	switch {
	case p == "/dapr/subscribe" && r.Method == http.MethodGet:
		subs := []map[string]string{}
		if service == "notification" {
			subs = append(subs, map[string]string{
				"pubsubname": env("DAPR_PUBSUB_NAME", "pubsub"),
				"topic":      env("TOPIC_TASK_EVENTS", "task-events"),
				"route":      taskRoute,
			})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(subs)
	case p == "/dapr/config":
		// No actors here: Dapr reads a 404 as "none".
		http.NotFound(w, r)
	case p == taskRoute && r.Method == http.MethodPost:
		var event map[string]any
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&event); err != nil {
			reply(w, http.StatusBadRequest, map[string]any{"status": "DROP", "error": err.Error()})
			return true
		}
		receivedMu.Lock()
		received = append(received, event)
		if len(received) > 100 {
			received = received[len(received)-100:]
		}
		receivedMu.Unlock()
		logJSON("info", "event received", map[string]any{"topic": event["topic"], "id": event["id"]})
		reply(w, http.StatusOK, map[string]any{"status": "SUCCESS"})
	case p == "/_standin/received" && r.Method == http.MethodGet:
		receivedMu.Lock()
		events := append([]map[string]any{}, received...)
		receivedMu.Unlock()
		reply(w, http.StatusOK, map[string]any{"events": events})
	case p == "/api/tasks" && r.Method == http.MethodPost && service == "backend":
		var task map[string]any
		_ = json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&task)
		receivedMu.Lock()
		published++
		id := fmt.Sprintf("%s-%d-%d", service, time.Now().UnixNano(), published)
		receivedMu.Unlock()
		publish(w, env("TOPIC_TASK_EVENTS", "task-events"), map[string]any{
			"type": "task.created", "id": id, "title": task["title"],
		})
	case p == "/_standin/publish" && r.Method == http.MethodPost:
		topic := r.URL.Query().Get("topic")
		if topic == "" {
			reply(w, http.StatusBadRequest, map[string]any{"error": "topic is required"})
			return true
		}
		publish(w, topic, map[string]any{"type": "standin.probe", "id": strconv.FormatInt(time.Now().UnixNano(), 10)})
	default:
		return false
	}
	return true
}

// publish hands one event to the sidecar and answers with what Dapr said.
func publish(w http.ResponseWriter, topic string, event map[string]any) {
	body, _ := json.Marshal(event)
	target := fmt.Sprintf("http://127.0.0.1:%s/v1.0/publish/%s/%s", env("DAPR_HTTP_PORT", "3500"),
		url.PathEscape(env("DAPR_PUBSUB_NAME", "pubsub")), url.PathEscape(topic))
	resp, err := daprClient.Post(target, "application/json", bytes.NewReader(body))
	if err != nil {
		reply(w, http.StatusBadGateway, map[string]any{"published": false, "topic": topic, "error": err.Error()})
		return
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		logJSON("error", "publish refused", map[string]any{"topic": topic, "dapr_status": resp.StatusCode})
		reply(w, http.StatusBadGateway, map[string]any{
			"published": false, "topic": topic, "dapr_status": resp.StatusCode, "dapr": string(answer),
		})
		return
	}
	logJSON("info", "event published", map[string]any{"topic": topic, "id": event["id"]})
	reply(w, http.StatusCreated, map[string]any{"published": true, "topic": topic, "event": event})
}
