package localstack

import (
	"time"

	"github.com/ottuops/ottu-lambda/dev/samtemplate"
)

// startSchedules invokes each scheduled function (a Schedule or ScheduleV2
// event, like the reconciler's EventBridge Scheduler schedule) with its
// event's Input every interval, one invocation at a time, until the stack
// closes. A failed invocation is logged; the next tick tries again.
func (s *Stack) startSchedules(tmpl *samtemplate.Template, interval time.Duration) {
	if interval == 0 {
		interval = DefaultScheduleInterval
	}
	if interval < 0 {
		return
	}
	for _, fn := range tmpl.Functions {
		for _, sch := range fn.Schedules {
			if !s.functions.Has(fn.LogicalID) {
				continue
			}
			s.step("invoking %s every %s (its %s schedule)", fn.LogicalID, interval, sch.Name)
			s.scheduled.Go(func() {
				t := time.NewTicker(interval)
				defer t.Stop()
				for {
					select {
					case <-s.background.Done():
						return
					case <-t.C:
					}
					if _, err := s.functions.Invoke(s.background, fn.LogicalID, []byte(sch.Input)); err != nil && s.background.Err() == nil {
						s.logger.Warn("scheduled invocation failed", "function", fn.LogicalID, "schedule", sch.Name, "error", err.Error())
					}
				}
			})
		}
	}
}
