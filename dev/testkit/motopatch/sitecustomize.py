# Loaded by moto_server at start (testenv puts this directory on its
# PYTHONPATH), never by anything else.
#
# moto 5.2.1's Step Functions engine snapshots a state machine with
# copy.deepcopy before each StartExecution. The snapshot reaches the running
# executions (the state machine's own list, and every other state machine
# through its backend), whose worker threads hold locks that cannot be
# copied, so every StartExecution after the first fails with a 500 ("cannot
# pickle '_thread.RLock' object", getmoto/moto#10077, fixed upstream after
# 5.2.1). This gives the state machine a snapshot that copies its own
# definition and settings but starts with no executions and shares the
# backend, which is what the engine needs of it. Remove it once the machine
# has a moto with the fix.
import copy

try:
    from moto.stepfunctions.models import StateMachine
except Exception:  # moto missing or reorganised: nothing to patch
    StateMachine = None

if StateMachine is not None and "__deepcopy__" not in StateMachine.__dict__:

    def _snapshot(self, memo):
        clone = self.__class__.__new__(self.__class__)
        memo[id(self)] = clone
        for name, value in self.__dict__.items():
            if name == "executions":
                value = []
            elif name != "backend":
                value = copy.deepcopy(value, memo)
            clone.__dict__[name] = value
        return clone

    StateMachine.__deepcopy__ = _snapshot
