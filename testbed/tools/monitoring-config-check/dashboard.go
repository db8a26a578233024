package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

const sdkModule = "github.com/grafana/grafana-foundation-sdk/go"

func init() {
	// The panel and query schemas of Grafana's core plugins (timeseries, prometheus, ...): without
	// them the SDK decodes panel options and queries as untyped maps.
	plugins.RegisterDefaultPlugins()
}

// checkDashboard decodes a classic dashboard (the JSON the Grafana sidecar provisions) with the
// SDK's strict decoder, which refuses unknown fields, wrong types and missing required fields, and
// runs the SDK's validation. It then checks what the strict decoder leaves loose, panel by panel.
func checkDashboard(_ string, data []byte) (string, []string) {
	if problem := jsonSyntax(data); problem != "" {
		return "", []string{problem}
	}
	var d dashboard.Dashboard
	sdk := sdkProblems(d.UnmarshalJSONStrict(data), "")
	var top struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Name       string                `json:"name"`
				Type       string                `json:"type"`
				Datasource *common.DataSourceRef `json:"datasource"`
				Query      any                   `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		// The SDK reports a field of the wrong kind (an object for a list) without its name.
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return "", []string{fmt.Sprintf("%s: a JSON %s where the schema wants %s",
				typeErr.Field, typeErr.Value, jsonKind(typeErr.Type.String()))}
		}
		return "", append(sdk, "not a dashboard: "+err.Error())
	}
	if len(sdk) == 0 {
		sdk = sdkProblems(d.Validate(), "")
	}
	c := panelChecker{
		variables:         map[string]string{},
		ids:               map[uint32]string{},
		strictFieldConfig: map[string]bool{},
	}
	for _, v := range top.Templating.List {
		c.variables[v.Name] = v.Type
	}
	for i, v := range top.Templating.List {
		where := fmt.Sprintf("templating.list[%d]", i)
		if v.Datasource != nil {
			c.datasource(where+".datasource", v.Datasource)
		}
		if query, ok := v.Query.(string); ok && v.Type == "query" {
			c.references(where+".query", query)
		}
	}
	for i, raw := range top.Panels {
		c.panel(fmt.Sprintf("panels[%d]", i), raw)
	}
	var problems []string
	seen := map[string]bool{}
	for _, p := range append(sdk, c.problems...) {
		// The SDK decodes a panel's fieldConfig loosely; the strict decode of it says more.
		if path, _, _ := strings.Cut(p, ": "); strings.HasSuffix(path, ".fieldConfig") &&
			c.strictFieldConfig[strings.TrimSuffix(path, ".fieldConfig")] {
			continue
		}
		if !seen[p] {
			seen[p] = true
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		return "", problems
	}
	return fmt.Sprintf("%d panels, %d queries, %d variables decoded strictly (%s %s)",
		c.panels, c.queries, len(top.Templating.List), sdkModule, moduleVersion(sdkModule)), nil
}

// jsonSyntax reports a JSON syntax error with its line and column.
func jsonSyntax(data []byte) string {
	var v any
	err := json.Unmarshal(data, &v)
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line := 1 + bytes.Count(data[:syn.Offset], []byte("\n"))
		col := int(syn.Offset) - bytes.LastIndexByte(data[:syn.Offset], '\n') - 1
		return fmt.Sprintf("%d:%d: not JSON: %v", line, col, syn)
	}
	if err != nil {
		return fmt.Sprintf("not JSON: %v", err)
	}
	if _, ok := v.(map[string]any); !ok {
		return "not a dashboard: the JSON is not an object"
	}
	return ""
}

// sdkProblems turns the SDK's errors into "path: message" lines, the path prefixed with where.
// The SDK reports an unknown field at the path of the object that holds it, named by its Go type
// ("panels[0].Panel: unexpected field 'titel'"); the line names the field's own path instead.
func sdkProblems(err error, where string) []string {
	if failed(err) == nil {
		return nil
	}
	var errs cog.BuildErrors
	if !errors.As(err, &errs) {
		return []string{joinPath(where, "") + strings.TrimPrefix(err.Error(), "json: ")}
	}
	var out []string
	for _, e := range errs {
		path, msg := e.Path, strings.TrimPrefix(e.Message, "json: ")
		if m := goTypeError.FindStringSubmatch(msg); m != nil {
			msg = fmt.Sprintf("a JSON %s where the schema wants %s", m[1], jsonKind(m[2]))
		}
		if field, ok := strings.CutPrefix(msg, "unexpected field '"); ok {
			field = strings.TrimSuffix(field, "'")
			parent := path[:max(strings.LastIndexByte(path, '.'), 0)]
			if isTypeName(strings.TrimPrefix(path[len(parent):], ".")) {
				path = joinPath(parent, field)
			} else {
				path = joinPath(path, field)
			}
			msg = "unknown field: the dashboard schema has no such field here"
		}
		out = append(out, joinPath(where, path)+": "+msg)
	}
	return out
}

// encoding/json's words for a value of the wrong type, in the SDK's messages
var goTypeError = regexp.MustCompile(
	`^cannot unmarshal (\w+) into Go (?:value|struct field \S+) of type (\S+)$`)

// jsonKind names what a Go type holds in JSON terms.
func jsonKind(goType string) string {
	goType = strings.TrimLeft(goType, "*")
	switch {
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "uint"):
		return "a whole number of 0 or more (" + goType + ")"
	case strings.HasPrefix(goType, "int"):
		return "a whole number (" + goType + ")"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	}
	return "an object (" + goType + ")"
}

// failed: the SDK's strict decoders return their list of errors even when it is empty (a nil
// cog.BuildErrors in a non-nil error), so an error counts only when it lists something. The SDK's
// own callers do not tell the two apart: its dashboard decoder drops every panel it decoded, and
// its query decoder every query, so neither is validated; this program decodes and validates them
// one by one.
func failed(err error) error {
	var errs cog.BuildErrors
	if errors.As(err, &errs) && len(errs) == 0 {
		return nil
	}
	return err
}

// The SDK's paths name JSON fields in lowerCamelCase and objects by their Go type in UpperCamelCase.
func isTypeName(s string) bool { return s != "" && s[0] >= 'A' && s[0] <= 'Z' }

func joinPath(parent, child string) string {
	switch {
	case parent == "":
		return child
	case child == "":
		return parent + ": "
	case strings.HasPrefix(child, "["):
		return parent + child
	}
	return parent + "." + child
}

type panelChecker struct {
	variables map[string]string // template variable name -> type
	ids       map[uint32]string // panel id -> path of the panel that has it
	// panels whose fieldConfig the strict decoder refused (the SDK's loose decode of it is noise)
	strictFieldConfig map[string]bool
	panels            int
	queries           int
	problems          []string
}

func (c *panelChecker) addf(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// panel checks one panel (and a row's panels) for what the strict decoder does not: its plugin
// type and its queries' types are ones the schema knows (otherwise their fields are not checked at
// all), its field config (which the SDK decodes loosely), unique ids and refIds, and references to
// template variables.
func (c *panelChecker) panel(path string, raw json.RawMessage) {
	var p struct {
		Type        string                `json:"type"`
		ID          *uint32               `json:"id"`
		Datasource  *common.DataSourceRef `json:"datasource"`
		Targets     []json.RawMessage     `json:"targets"`
		FieldConfig json.RawMessage       `json:"fieldConfig"`
		Panels      []json.RawMessage     `json:"panels"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return // the strict decoder has reported it
	}
	c.panels++
	if p.ID != nil {
		if other, dup := c.ids[*p.ID]; dup {
			c.addf("%s.id: %d is also the id of %s (panel ids must be unique in a dashboard)",
				path, *p.ID, other)
		} else {
			c.ids[*p.ID] = path
		}
	}
	if p.Type == "row" {
		var row dashboard.RowPanel
		if failed(row.UnmarshalJSONStrict(raw)) == nil {
			c.problems = append(c.problems, sdkProblems(row.Validate(), path)...)
		}
		for i, child := range p.Panels {
			c.panel(fmt.Sprintf("%s.panels[%d]", path, i), child)
		}
		return
	}
	var panel dashboard.Panel
	if failed(panel.UnmarshalJSONStrict(raw)) == nil { // its decode errors are the dashboard's
		c.problems = append(c.problems, sdkProblems(panel.Validate(), path)...)
	}
	if _, known := cog.ConfigForPanelcfgVariant(p.Type); !known && p.Type != "" {
		c.addf("%s.type: %q is not a panel plugin the dashboard schema knows (it knows %s)",
			path, p.Type, knownPanelTypes())
	}
	if len(p.FieldConfig) > 0 && string(p.FieldConfig) != "null" {
		var fc dashboard.FieldConfigSource
		strict := sdkProblems(fc.UnmarshalJSONStrict(p.FieldConfig), path+".fieldConfig")
		c.strictFieldConfig[path] = len(strict) > 0
		c.problems = append(c.problems, strict...)
	}
	panelType := ""
	if p.Datasource != nil {
		c.datasource(path+".datasource", p.Datasource)
		if p.Datasource.Type != nil && !isMixed(p.Datasource) {
			panelType = *p.Datasource.Type
		}
	}
	refIDs := map[string]int{}
	for i, rawTarget := range p.Targets {
		where := fmt.Sprintf("%s.targets[%d]", path, i)
		c.queries++
		c.target(where, rawTarget, panelType, p.Datasource != nil && isMixed(p.Datasource), refIDs, i)
	}
}

func (c *panelChecker) target(where string, raw json.RawMessage, panelType string, mixed bool,
	refIDs map[string]int, i int) {
	var t struct {
		RefID      string                `json:"refId"`
		Datasource *common.DataSourceRef `json:"datasource"`
		Expr       string                `json:"expr"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return
	}
	if t.Datasource != nil {
		c.datasource(where+".datasource", t.Datasource)
		if panelType != "" && !mixed && t.Datasource.Type != nil && *t.Datasource.Type != panelType {
			c.addf("%s.datasource.type: %q, but the panel's data source is %q (use the Mixed data source "+
				"to combine types)", where, *t.Datasource.Type, panelType)
		}
	}
	c.query(where, raw, panelType)
	c.refID(where, t.RefID, refIDs, i)
	c.references(where+".expr", t.Expr)
}

// query decodes a query strictly with the schema of the panel's data source type, as Grafana runs
// it (the SDK's own panel decoder decodes targets before it has read the panel's data source, so
// it knows only the query's own), and validates it.
func (c *panelChecker) query(where string, raw json.RawMessage, panelType string) {
	query, err := cog.StrictUnmarshalDataquery(raw, panelType)
	if failed(err) != nil {
		c.problems = append(c.problems, sdkProblems(err, where)...)
		return
	}
	if query == nil { // decoded without an error, and dropped by the SDK (see failed)
		if query, err = cog.UnmarshalDataquery(raw, panelType); err != nil {
			c.problems = append(c.problems, sdkProblems(err, where)...)
			return
		}
	}
	if _, unknown := query.(variants.UnknownDataquery); unknown {
		// A type the schema does not know has been reported where it is set.
		if panelType == "" && !hasType(query) {
			c.addf("%s: no data source type on the query or its panel, so its fields are not "+
				"checked (set datasource.type on the panel or the query; the schema knows %s)",
				where, knownQueryTypes())
		}
		return
	}
	c.problems = append(c.problems, sdkProblems(query.Validate(), where)...)
}

func (c *panelChecker) refID(where, refID string, refIDs map[string]int, i int) {
	if refID == "" {
		c.addf("%s.refId: missing (Grafana names each query of a panel by its refId)", where)
	} else if first, dup := refIDs[refID]; dup {
		c.addf("%s.refId: %q is also the refId of targets[%d] of the same panel", where, refID, first)
	} else {
		refIDs[refID] = i
	}
}

// datasource checks a data source reference: a known plugin type, and a uid that is either a
// literal or a data source variable the dashboard defines.
func (c *panelChecker) datasource(where string, ref *common.DataSourceRef) {
	if ref.Type != nil && !isVariable(*ref.Type) {
		if !knownQueryType(*ref.Type) {
			c.addf("%s.type: %q is not a data source the dashboard schema knows (it knows %s)",
				where, *ref.Type, knownQueryTypes())
		}
	}
	if ref.Uid != nil {
		for _, name := range variableRefs(*ref.Uid) {
			if typ, ok := c.variables[name]; ok && typ != "datasource" {
				c.addf("%s.uid: $%s is a %s variable, not a data source variable", where, name, typ)
			}
		}
		c.references(where+".uid", *ref.Uid)
	}
}

// references reports template variables a string uses that the dashboard does not define (a
// misspelt one makes Grafana send the query with the literal "$name" in it). Names that start
// with "__" are Grafana's global variables ($__rate_interval, ...).
func (c *panelChecker) references(where, s string) {
	for _, name := range variableRefs(s) {
		if _, ok := c.variables[name]; !ok {
			c.addf("%s: uses $%s, which is not a template variable of this dashboard (%s)",
				where, name, c.variableNames())
		}
	}
}

var variableRef = regexp.MustCompile(`\$(\w+)|\$\{(\w+)(?:[:.][^}]*)?\}|\[\[(\w+)(?::\w+)?\]\]`)

func variableRefs(s string) []string {
	var names []string
	for _, m := range variableRef.FindAllStringSubmatch(s, -1) {
		name := m[1] + m[2] + m[3]
		if !strings.HasPrefix(name, "__") {
			names = append(names, name)
		}
	}
	return names
}

// hasType: whether an undecoded query names a data source type of its own.
func hasType(query variants.Dataquery) bool {
	ds, _ := query.(variants.UnknownDataquery)["datasource"].(map[string]any)
	t, _ := ds["type"].(string)
	return t != ""
}

func isVariable(s string) bool { return len(variableRefs(s)) > 0 }

// isMixed: Grafana's "-- Mixed --" data source runs each query on its own data source.
func isMixed(ref *common.DataSourceRef) bool {
	return ref.Uid != nil && *ref.Uid == "-- Mixed --"
}

func (c *panelChecker) variableNames() string {
	if len(c.variables) == 0 {
		return "it defines none"
	}
	names := make([]string, 0, len(c.variables))
	for n := range c.variables {
		names = append(names, "$"+n)
	}
	sort.Strings(names)
	return "it defines " + strings.Join(names, ", ")
}

// registered lists the identifiers of the SDK runtime's schemas of one kind ("panelcfgVariants"
// or "dataqueryVariants"), for messages. The runtime has no accessor for them; reading its map keeps
// the list the one plugins.RegisterDefaultPlugins made (an empty list if the field moves).
func registered(field string) string {
	v := reflect.ValueOf(cog.NewRuntime()).Elem().FieldByName(field)
	if v.Kind() != reflect.Map {
		return ""
	}
	var names []string
	for _, k := range v.MapKeys() {
		names = append(names, strconv.Quote(k.String()))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func knownPanelTypes() string { return registered("panelcfgVariants") }
func knownQueryTypes() string { return registered("dataqueryVariants") }

// knownQueryType: whether the SDK has a query schema for a data source type (it decodes a query it
// cannot place as an UnknownDataquery).
func knownQueryType(t string) bool {
	q, err := cog.UnmarshalDataquery([]byte(`{}`), t)
	_, unknown := q.(variants.UnknownDataquery)
	return err == nil && !unknown
}
