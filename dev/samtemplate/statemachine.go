package samtemplate

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
)

// StateMachine is an AWS::Serverless::StateMachine whose definition is a
// file of the repository (DefinitionUri), filled in by
// DefinitionSubstitutions as CloudFormation does at deploy time.
type StateMachine struct {
	LogicalID string
	// Name is the Name property; zero when CloudFormation names it.
	Name Value
	// DefinitionURI is the definition file, relative to the template's
	// directory, with forward slashes.
	DefinitionURI string
	// Substitutions are the DefinitionSubstitutions, by placeholder.
	Substitutions map[string]Value
}

// parseStateMachine reads the properties the project runs by itself. An
// inline Definition or a DefinitionUri in S3 is refused: the local stack
// and the tests read the same file SAM deploys, and a definition anywhere
// else would be a second copy.
func parseStateMachine(id string, r *object) (StateMachine, error) {
	props := r.obj("Properties")
	sm := StateMachine{LogicalID: id, Substitutions: map[string]Value{}}
	if props.has("Definition") {
		return sm, errors.New("has an inline Definition: keep it in a file (statemachine/*.asl.json) named by DefinitionUri, which the local stack reads too")
	}
	uri, ok := props.get("DefinitionUri").(string)
	switch {
	case !ok && props.has("DefinitionUri"):
		return sm, fmt.Errorf("DefinitionUri must be a file path in this repository, got %s", describe(props.get("DefinitionUri")))
	case uri == "":
		return sm, errors.New("has no DefinitionUri: name the definition file, such as statemachine/refund.asl.json")
	case strings.HasPrefix(uri, "s3://") || path.IsAbs(uri) || slices.Contains(strings.Split(path.Clean(uri), "/"), ".."):
		return sm, fmt.Errorf("DefinitionUri %q must be a relative path inside the repository", uri)
	}
	sm.DefinitionURI = path.Clean(uri)
	var err error
	if sm.Name, err = toValue(props.get("Name")); err != nil {
		return sm, fmt.Errorf("the Name property: %w", err)
	}
	if subs := props.get("DefinitionSubstitutions"); subs != nil {
		o, ok := subs.(*object)
		if !ok {
			return sm, fmt.Errorf("DefinitionSubstitutions must be a mapping, got %s", describe(subs))
		}
		for _, k := range o.keys {
			if sm.Substitutions[k], err = toValue(o.vals[k]); err != nil {
				return sm, fmt.Errorf("DefinitionSubstitutions %s: %w", k, err)
			}
		}
	}
	return sm, nil
}

// StateMachine returns the state machine with the given logical id.
func (t *Template) StateMachine(logicalID string) (StateMachine, bool) {
	for _, sm := range t.StateMachines {
		if sm.LogicalID == logicalID {
			return sm, true
		}
	}
	return StateMachine{}, false
}

// ResolveName renders the Name property with refs (see ResolveEnv); ""
// when the template leaves the name to CloudFormation.
func (sm StateMachine) ResolveName(refs map[string]string) (string, error) {
	s, err := sm.Name.resolve(refs)
	if err != nil {
		return "", fmt.Errorf("state machine %s Name: %w", sm.LogicalID, err)
	}
	return s, nil
}

// ResolveSubstitutions renders every DefinitionSubstitutions value with
// refs (see ResolveEnv), naming every reference refs lacks.
func (sm StateMachine) ResolveSubstitutions(refs map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(sm.Substitutions))
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(sm.Substitutions)) {
		s, err := sm.Substitutions[k].resolve(refs)
		if err != nil {
			errs = append(errs, fmt.Errorf("state machine %s DefinitionSubstitutions %s: %w", sm.LogicalID, k, err))
			continue
		}
		out[k] = s
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// placeholder is a DefinitionSubstitutions reference in a definition.
var placeholder = regexp.MustCompile(`\$\{([^}]*)\}`)

// Substitute fills a definition's ${Name} placeholders the way
// CloudFormation applies DefinitionSubstitutions: as text. A placeholder
// without a value, or a value never used, is an error, so the template and
// the definition cannot drift apart unnoticed.
func Substitute(definition []byte, values map[string]string) ([]byte, error) {
	used := map[string]bool{}
	var missing []string
	out := placeholder.ReplaceAllFunc(definition, func(m []byte) []byte {
		name := string(placeholder.FindSubmatch(m)[1])
		v, ok := values[name]
		if !ok {
			if !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
			return m
		}
		used[name] = true
		return []byte(v)
	})
	var errs []error
	if len(missing) > 0 {
		slices.Sort(missing)
		errs = append(errs, fmt.Errorf("the definition uses %s, which DefinitionSubstitutions does not give", strings.Join(quoteAll(missing), ", ")))
	}
	var unused []string
	for _, k := range slices.Sorted(maps.Keys(values)) {
		if !used[k] {
			unused = append(unused, k)
		}
	}
	if len(unused) > 0 {
		errs = append(errs, fmt.Errorf("DefinitionSubstitutions gives %s, which the definition never uses", strings.Join(quoteAll(unused), ", ")))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
