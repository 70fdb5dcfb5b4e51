// Package samtemplate reads the parts of an AWS SAM template the project
// runs by itself: functions (with Globals merged), their HTTP routes, the
// DynamoDB tables, state machines defined by a file, parameters and
// outputs. The local stack starts from it,
// so template.yaml stays the one place these facts are written down.
package samtemplate

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// SAM's own defaults when neither the function nor Globals set a value.
const (
	DefaultTimeout    = 3
	DefaultMemorySize = 128
)

// Template is what the project needs from a SAM template.
type Template struct {
	Parameters map[string]Parameter
	// Functions, tables and HTTP APIs come in the template's order.
	Functions []Function
	Tables    []Table
	// HTTPAPIs lists the logical ids of the AWS::Serverless::HttpApi resources.
	HTTPAPIs []string
	// StateMachines are the AWS::Serverless::StateMachine resources.
	StateMachines []StateMachine
	Outputs       map[string]Output
}

// Parameter is one entry of the Parameters section.
type Parameter struct {
	Type, Default string
	AllowedValues []string
	hasDefault    bool
}

// Function is an AWS::Serverless::Function.
type Function struct {
	LogicalID string
	// Package is the Go package built into the function's bootstrap, by the
	// project's convention: "./functions/" + kebab-case of the logical id
	// without its "Function" suffix.
	Package    string
	Timeout    int // seconds, Globals merged
	MemorySize int
	// Environment holds Environment.Variables, Globals merged, function wins.
	Environment map[string]Value
	Routes      []Route
	// Schedules are its Schedule and ScheduleV2 events (the local stack
	// runs them on a short timer of its own).
	Schedules []Schedule
}

// Schedule is a Schedule or ScheduleV2 event of a function.
type Schedule struct {
	Name string
	// Input is the event's Input, the JSON the function is invoked with
	// ("{}" when none).
	Input string
}

// Route is an HttpApi (or Api) event of a function.
type Route struct {
	Method, Path string // Path like "/operations/{tracking_key}"
	// IAMAuth is true when callers must sign with SigV4 (AWS_IAM).
	IAMAuth bool
}

// Table is an AWS::DynamoDB::Table.
type Table struct {
	LogicalID string
	// TableName is the fixed name when the template sets one as a literal,
	// otherwise "" (CloudFormation makes one up).
	TableName                 string
	HashKey, HashKeyType      string
	RangeKey, RangeKeyType    string
	TTLAttribute              string // "" when TTL is not enabled
	BillingMode               string // PROVISIONED when the template says nothing
	GSIs                      []Index
	PointInTimeRecovery       bool
	ServerSideEncryption      bool
	DeletionPolicyRetain      bool
	UpdateReplacePolicyRetain bool
}

// Index is a global secondary index of a Table.
type Index struct {
	Name                   string
	HashKey, HashKeyType   string
	RangeKey, RangeKeyType string
	ProjectionType         string
}

// Output is one entry of the Outputs section.
type Output struct {
	Description string
	Value       Value
}

// Load reads and parses the template at path.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read SAM template: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Parse parses a SAM template in YAML (or JSON, which is YAML too).
func Parse(data []byte) (*Template, error) {
	root, err := decodeYAML(data)
	if err != nil {
		return nil, err
	}
	if root == nil {
		return nil, errors.New("template is empty")
	}
	doc, ok := root.(*object)
	if !ok {
		return nil, fmt.Errorf("template must be a mapping with a Resources section, got %s", describe(root))
	}
	p := parser{doc: doc, globals: doc.obj("Globals")}
	return p.template()
}

type parser struct {
	doc       *object
	globals   *object
	resources *object
	params    map[string]Parameter
}

func (p *parser) template() (*Template, error) {
	t := &Template{}
	var err error
	if t.Parameters, err = parseParameters(p.doc.get("Parameters")); err != nil {
		return nil, err
	}
	p.params = t.Parameters
	res, ok := p.doc.get("Resources").(*object)
	if !ok || len(res.keys) == 0 {
		return nil, errors.New("template has no Resources: a SAM template needs at least one resource")
	}
	p.resources = res
	if g := p.doc.get("Globals"); g != nil && p.globals == nil {
		return nil, fmt.Errorf("the Globals section must be a mapping, got %s", describe(g))
	}
	for _, id := range res.keys {
		r, ok := res.vals[id].(*object)
		if !ok {
			return nil, fmt.Errorf("resource %s must be a mapping with a Type, got %s", id, describe(res.vals[id]))
		}
		typ := r.str("Type")
		if typ == "" {
			return nil, fmt.Errorf("resource %s has no Type", id)
		}
		switch typ {
		case "AWS::Serverless::Function":
			f, err := p.function(id, r)
			if err != nil {
				return nil, fmt.Errorf("function %s: %w", id, err)
			}
			t.Functions = append(t.Functions, f)
		case "AWS::DynamoDB::Table":
			tb, err := parseTable(id, r)
			if err != nil {
				return nil, fmt.Errorf("table %s: %w", id, err)
			}
			t.Tables = append(t.Tables, tb)
		case "AWS::Serverless::HttpApi":
			t.HTTPAPIs = append(t.HTTPAPIs, id)
		case "AWS::Serverless::StateMachine":
			sm, err := parseStateMachine(id, r)
			if err != nil {
				return nil, fmt.Errorf("state machine %s: %w", id, err)
			}
			t.StateMachines = append(t.StateMachines, sm)
		}
	}
	if t.Outputs, err = parseOutputs(p.doc.get("Outputs")); err != nil {
		return nil, err
	}
	return t, nil
}

func parseParameters(v any) (map[string]Parameter, error) {
	out := map[string]Parameter{}
	if v == nil {
		return out, nil
	}
	ps, ok := v.(*object)
	if !ok {
		return nil, fmt.Errorf("the Parameters section must be a mapping, got %s", describe(v))
	}
	for _, name := range ps.keys {
		def, ok := ps.vals[name].(*object)
		if !ok {
			return nil, fmt.Errorf("parameter %s must be a mapping with a Type, got %s", name, describe(ps.vals[name]))
		}
		prm := Parameter{Type: def.str("Type")}
		if prm.Type == "" {
			return nil, fmt.Errorf("parameter %s has no Type", name)
		}
		if def.has("Default") {
			d := def.get("Default")
			switch t := d.(type) {
			case nil:
			case string:
				prm.Default = t
			case []any: // a List<…> parameter may give its default as a list
				parts, err := plainStrings(t)
				if err != nil {
					return nil, fmt.Errorf("parameter %s: Default: %w", name, err)
				}
				prm.Default = strings.Join(parts, ",")
			default:
				return nil, fmt.Errorf("parameter %s: Default must be a plain value, got %s", name, describe(d))
			}
			prm.hasDefault = true
		}
		if av := def.get("AllowedValues"); av != nil {
			list, ok := av.([]any)
			if !ok {
				return nil, fmt.Errorf("parameter %s: AllowedValues must be a list, got %s", name, describe(av))
			}
			vals, err := plainStrings(list)
			if err != nil {
				return nil, fmt.Errorf("parameter %s: AllowedValues: %w", name, err)
			}
			prm.AllowedValues = vals
		}
		out[name] = prm
	}
	return out, nil
}

// plainStrings reads a list of plain values.
func plainStrings(list []any) ([]string, error) {
	out := make([]string, 0, len(list))
	for _, e := range list {
		switch s := e.(type) {
		case string:
			out = append(out, s)
		case nil:
			out = append(out, "")
		default:
			return nil, fmt.Errorf("expected plain values, got %s", describe(e))
		}
	}
	return out, nil
}

func (p *parser) function(id string, r *object) (Function, error) {
	props := r.obj("Properties")
	if r.has("Properties") && props == nil {
		return Function{}, fmt.Errorf("its Properties must be a mapping, got %s", describe(r.get("Properties")))
	}
	global := p.globals.obj("Function")
	prop := func(k string) any {
		if props.has(k) {
			return props.get(k)
		}
		return global.get(k)
	}
	image := prop("PackageType") == "Image"
	if !image {
		if prop("CodeUri") == nil && prop("InlineCode") == nil {
			return Function{}, errors.New("has no CodeUri: set it on the function or in Globals.Function (\".\" builds from the repository root)")
		}
		if prop("Handler") == nil {
			return Function{}, errors.New("has no Handler: set it on the function or in Globals.Function (\"bootstrap\" for a Go binary)")
		}
	}
	f := Function{LogicalID: id, Package: PackageFor(id)}
	var err error
	if f.Timeout, err = p.intProp(prop("Timeout"), DefaultTimeout); err != nil {
		return Function{}, fmt.Errorf("property Timeout: %w", err)
	}
	if f.MemorySize, err = p.intProp(prop("MemorySize"), DefaultMemorySize); err != nil {
		return Function{}, fmt.Errorf("property MemorySize: %w", err)
	}
	f.Environment = map[string]Value{}
	for _, src := range []*object{global, props} {
		vars, err := envVariables(src)
		if err != nil {
			return Function{}, err
		}
		for _, k := range vars.keysOrNil() {
			val, err := toValue(vars.vals[k])
			if err != nil {
				return Function{}, fmt.Errorf("environment variable %s: %w", k, err)
			}
			f.Environment[k] = val
		}
	}
	if f.Routes, err = p.routes(props.get("Events")); err != nil {
		return Function{}, err
	}
	f.Schedules = schedules(props.get("Events"))
	return f, nil
}

// schedules lists a function's Schedule and ScheduleV2 events; routes
// has already checked the Events' shape.
func schedules(events any) []Schedule {
	evs, ok := events.(*object)
	if !ok {
		return nil
	}
	var out []Schedule
	for _, name := range evs.keys {
		ev, ok := evs.vals[name].(*object)
		if !ok || (ev.str("Type") != "Schedule" && ev.str("Type") != "ScheduleV2") {
			continue
		}
		input := ev.obj("Properties").str("Input")
		if input == "" {
			input = "{}"
		}
		out = append(out, Schedule{Name: name, Input: input})
	}
	return out
}

func (o *object) keysOrNil() []string {
	if o == nil {
		return nil
	}
	return o.keys
}

func envVariables(src *object) (*object, error) {
	env := src.get("Environment")
	if env == nil {
		return nil, nil
	}
	e, ok := env.(*object)
	if !ok {
		return nil, fmt.Errorf("its Environment must be a mapping with Variables, got %s", describe(env))
	}
	v := e.get("Variables")
	if v == nil {
		return nil, nil
	}
	vars, ok := v.(*object)
	if !ok {
		return nil, fmt.Errorf("Environment.Variables must be a mapping, got %s", describe(v))
	}
	return vars, nil
}

// intProp reads a whole number, following a !Ref to a parameter's default.
func (p *parser) intProp(v any, def int) (int, error) {
	if v == nil {
		return def, nil
	}
	val, err := toValue(v)
	if err != nil {
		return 0, err
	}
	text := val.Literal
	if val.Ref != "" {
		prm, ok := p.params[val.Ref]
		if !ok || !prm.hasDefault {
			return 0, fmt.Errorf("!Ref %s is not a parameter with a Default", val.Ref)
		}
		text = prm.Default
	} else if val != (Value{Literal: text}) {
		return 0, fmt.Errorf("expected a whole number, got %s", val)
	}
	n, err := strconv.Atoi(strings.TrimSpace(text))
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("expected a whole number above zero, got %q", text)
	}
	return n, nil
}

func (p *parser) routes(events any) ([]Route, error) {
	if events == nil {
		return nil, nil
	}
	evs, ok := events.(*object)
	if !ok {
		return nil, fmt.Errorf("its Events must be a mapping, got %s", describe(events))
	}
	var routes []Route
	for _, name := range evs.keys {
		ev, ok := evs.vals[name].(*object)
		if !ok {
			return nil, fmt.Errorf("event %s must be a mapping with a Type, got %s", name, describe(evs.vals[name]))
		}
		typ := ev.str("Type")
		if typ != "HttpApi" && typ != "Api" {
			continue
		}
		r, err := p.route(typ, ev.obj("Properties"))
		if err != nil {
			return nil, fmt.Errorf("event %s: %w", name, err)
		}
		routes = append(routes, r)
	}
	return routes, nil
}

func (p *parser) route(typ string, props *object) (Route, error) {
	method, path := props.str("Method"), props.str("Path")
	switch {
	case method == "" && path == "" && typ == "HttpApi":
		// SAM's catch-all route for an HttpApi event with no Path or Method.
		method, path = "ANY", "$default"
	case method == "":
		return Route{}, errors.New("has a Path but no Method")
	case path == "":
		return Route{}, errors.New("has a Method but no Path")
	case !strings.HasPrefix(path, "/"):
		return Route{}, fmt.Errorf("its Path %q must start with /", path)
	}
	method = strings.ToUpper(method)
	if method == "X-AMAZON-APIGATEWAY-ANY-METHOD" {
		method = "ANY"
	}
	auth, err := p.authorizer(typ, props)
	if err != nil {
		return Route{}, err
	}
	return Route{Method: method, Path: path, IAMAuth: auth == "AWS_IAM"}, nil
}

// authorizer is the event's own Auth.Authorizer, else the DefaultAuthorizer
// of the API it attaches to, else the one in Globals.
func (p *parser) authorizer(typ string, props *object) (string, error) {
	if a := props.obj("Auth").get("Authorizer"); a != nil {
		s, ok := a.(string)
		if !ok {
			return "", fmt.Errorf("Auth.Authorizer must be a name, got %s", describe(a))
		}
		return s, nil
	}
	apiType, idKey := "AWS::Serverless::HttpApi", "ApiId"
	if typ == "Api" {
		apiType, idKey = "AWS::Serverless::Api", "RestApiId"
	}
	if ref := props.get(idKey); ref != nil {
		val, err := toValue(ref)
		if err != nil || val.Ref == "" {
			return "", fmt.Errorf("%s must be a !Ref to an %s in this template", idKey, apiType)
		}
		api, _ := p.resources.get(val.Ref).(*object)
		if api.str("Type") != apiType {
			return "", fmt.Errorf("%s refers to %s, which is not an %s in this template", idKey, val.Ref, apiType)
		}
		if a := api.obj("Properties").obj("Auth").str("DefaultAuthorizer"); a != "" {
			return a, nil
		}
	}
	return p.globals.obj(typ).obj("Auth").str("DefaultAuthorizer"), nil
}

func parseTable(id string, r *object) (Table, error) {
	props := r.obj("Properties")
	t := Table{
		LogicalID:                 id,
		TableName:                 props.str("TableName"),
		BillingMode:               props.str("BillingMode"),
		DeletionPolicyRetain:      r.str("DeletionPolicy") == "Retain",
		UpdateReplacePolicyRetain: r.str("UpdateReplacePolicy") == "Retain",
		PointInTimeRecovery:       props.obj("PointInTimeRecoverySpecification").str("PointInTimeRecoveryEnabled") == "true",
		ServerSideEncryption:      props.obj("SSESpecification").str("SSEEnabled") == "true",
	}
	if t.BillingMode == "" {
		t.BillingMode = "PROVISIONED"
	}
	types := map[string]string{}
	if defs, ok := props.get("AttributeDefinitions").([]any); ok {
		for _, d := range defs {
			o, _ := d.(*object)
			types[o.str("AttributeName")] = o.str("AttributeType")
		}
	}
	var err error
	t.HashKey, t.HashKeyType, t.RangeKey, t.RangeKeyType, err = keySchema(props.get("KeySchema"), types)
	if err != nil {
		return Table{}, err
	}
	if ttl := props.obj("TimeToLiveSpecification"); ttl.str("Enabled") == "true" {
		t.TTLAttribute = ttl.str("AttributeName")
	}
	if gsis := props.get("GlobalSecondaryIndexes"); gsis != nil {
		list, ok := gsis.([]any)
		if !ok {
			return Table{}, fmt.Errorf("GlobalSecondaryIndexes must be a list, got %s", describe(gsis))
		}
		for _, g := range list {
			o, _ := g.(*object)
			ix := Index{Name: o.str("IndexName"), ProjectionType: o.obj("Projection").str("ProjectionType")}
			if ix.Name == "" {
				return Table{}, errors.New("a global secondary index has no IndexName")
			}
			ix.HashKey, ix.HashKeyType, ix.RangeKey, ix.RangeKeyType, err = keySchema(o.get("KeySchema"), types)
			if err != nil {
				return Table{}, fmt.Errorf("index %s: %w", ix.Name, err)
			}
			t.GSIs = append(t.GSIs, ix)
		}
	}
	return t, nil
}

func keySchema(v any, types map[string]string) (hash, hashType, rng, rngType string, err error) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return "", "", "", "", errors.New("KeySchema must list the HASH key (and an optional RANGE key)")
	}
	for _, e := range list {
		o, _ := e.(*object)
		name := o.str("AttributeName")
		typ, ok := types[name]
		if !ok || name == "" {
			return "", "", "", "", fmt.Errorf("key %q has no entry in AttributeDefinitions", name)
		}
		switch o.str("KeyType") {
		case "HASH":
			hash, hashType = name, typ
		case "RANGE":
			rng, rngType = name, typ
		default:
			return "", "", "", "", fmt.Errorf("key %q: KeyType must be HASH or RANGE", name)
		}
	}
	if hash == "" {
		return "", "", "", "", errors.New("KeySchema has no HASH key")
	}
	return hash, hashType, rng, rngType, nil
}

func parseOutputs(v any) (map[string]Output, error) {
	out := map[string]Output{}
	if v == nil {
		return out, nil
	}
	outs, ok := v.(*object)
	if !ok {
		return nil, fmt.Errorf("the Outputs section must be a mapping, got %s", describe(v))
	}
	for _, name := range outs.keys {
		o, ok := outs.vals[name].(*object)
		if !ok {
			return nil, fmt.Errorf("output %s must be a mapping with a Value, got %s", name, describe(outs.vals[name]))
		}
		val, err := toValue(o.get("Value"))
		if err != nil {
			return nil, fmt.Errorf("output %s: Value: %w", name, err)
		}
		out[name] = Output{Description: o.str("Description"), Value: val}
	}
	return out, nil
}

// Function returns the function with the given logical id.
func (t *Template) Function(logicalID string) (Function, bool) {
	for _, f := range t.Functions {
		if f.LogicalID == logicalID {
			return f, true
		}
	}
	return Function{}, false
}

// ParameterDefaults maps each parameter that has a Default to it, the
// starting point for the refs ResolveEnv needs.
func (t *Template) ParameterDefaults() map[string]string {
	out := map[string]string{}
	for name, p := range t.Parameters {
		if p.hasDefault {
			out[name] = p.Default
		}
	}
	return out
}

// ResolveEnv renders the function's environment. refs gives the value of
// each parameter, resource (its Ref), pseudo parameter such as AWS::Region,
// and GetAtt target ("Resource.Attribute"). The error names every
// reference refs lacks.
func (f Function) ResolveEnv(refs map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(f.Environment))
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(f.Environment)) {
		s, err := f.Environment[k].resolve(refs)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s environment variable %s: %w", f.LogicalID, k, err))
			continue
		}
		out[k] = s
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// PackageFor is the project's convention from logical id to Go package:
// OperationStatusFunction → ./functions/operation-status.
func PackageFor(logicalID string) string {
	base := strings.TrimSuffix(logicalID, "Function")
	if base == "" {
		base = logicalID
	}
	return "./functions/" + kebab(base)
}

// kebab writes CamelCase as kebab-case, keeping acronyms together
// (HTTPProxy → http-proxy).
func kebab(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				b.WriteByte('-')
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
