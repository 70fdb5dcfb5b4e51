package localstack

import (
	"fmt"
	"time"
)

// schedule is one function's schedule in the translated template: an
// EventBridge Scheduler schedule (SAM's ScheduleV2 event) or an Events rule
// (Schedule), with the input it sends.
type schedule struct {
	Name, Function, Input string
}

// schedules reads the translated template's AWS::Scheduler::Schedule and
// AWS::Events::Rule resources whose target is one of its functions.
func schedules(tr *Translation) ([]schedule, error) {
	var out []schedule
	for _, id := range tr.LogicalIDs("AWS::Scheduler::Schedule") {
		var p struct {
			Target struct {
				Arn   any    `json:"Arn"`
				Input string `json:"Input"`
			} `json:"Target"`
		}
		if err := tr.Properties(id, &p); err != nil {
			return nil, err
		}
		if fn := getAttArn(p.Target.Arn); fn != "" {
			out = append(out, schedule{Name: id, Function: fn, Input: p.Target.Input})
		}
	}
	for _, id := range tr.LogicalIDs("AWS::Events::Rule") {
		var p struct {
			ScheduleExpression string `json:"ScheduleExpression"`
			Targets            []struct {
				Arn   any    `json:"Arn"`
				Input string `json:"Input"`
			} `json:"Targets"`
		}
		if err := tr.Properties(id, &p); err != nil {
			return nil, err
		}
		if p.ScheduleExpression == "" {
			continue
		}
		for _, t := range p.Targets {
			if fn := getAttArn(t.Arn); fn != "" {
				out = append(out, schedule{Name: id, Function: fn, Input: t.Input})
			}
		}
	}
	return out, nil
}

// getAttArn is the logical id of {"Fn::GetAtt": ["X", "Arn"]} (or
// "X.Arn"), "" for anything else.
func getAttArn(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	switch g := m["Fn::GetAtt"].(type) {
	case []any:
		if len(g) == 2 && g[1] == "Arn" {
			s, _ := g[0].(string)
			return s
		}
	case string:
		if len(g) > 4 && g[len(g)-4:] == ".Arn" {
			return g[:len(g)-4]
		}
	}
	return ""
}

// startSchedules invokes each scheduled function (a Schedule or ScheduleV2
// event, like the reconciler's EventBridge Scheduler schedule) with its
// event's Input every interval, one invocation at a time, until the stack
// closes. A failed invocation is logged; the next tick tries again.
func (s *Stack) startSchedules(tr *Translation, interval time.Duration) error {
	if interval == 0 {
		interval = DefaultScheduleInterval
	}
	if interval < 0 {
		return nil
	}
	all, err := schedules(tr)
	if err != nil {
		return fmt.Errorf("read the schedules: %w", err)
	}
	for _, sch := range all {
		if !s.functions.Has(sch.Function) {
			continue
		}
		s.step("invoking %s every %s (its %s schedule)", sch.Function, interval, sch.Name)
		s.scheduled.Go(func() {
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				select {
				case <-s.background.Done():
					return
				case <-t.C:
				}
				if _, err := s.functions.Invoke(s.background, sch.Function, []byte(sch.Input)); err != nil && s.background.Err() == nil {
					s.logger.Warn("scheduled invocation failed", "function", sch.Function, "schedule", sch.Name, "error", err.Error())
				}
			}
		})
	}
	return nil
}
