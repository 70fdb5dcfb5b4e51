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

# moto 5.2.1's CloudFormation stores an AWS::IAM::Role's inline Policies as
# the parsed document (a dict) where IAM's PutRolePolicy stores JSON text.
# Its IAM enforcement (INITIAL_NO_AUTH_ACTION_COUNT) then fails every request
# signed with that role's credentials with a 500 (KeyError
# 'policy_document' in moto/iam/access_control.py), so no function could
# run under its own role. This stores the CloudFormation document as the
# JSON text PutRolePolicy would.
import json

try:
    from moto.iam.models import Role
except Exception:  # moto missing or reorganised: nothing to patch
    Role = None

if Role is not None and not getattr(Role.put_policy, "_ottu_patched", False):
    _put_policy = Role.put_policy

    def _put_policy_text(self, policy_name, policy_json):
        if not isinstance(policy_json, str):
            policy_json = json.dumps(policy_json)
        return _put_policy(self, policy_name, policy_json)

    _put_policy_text._ottu_patched = True
    Role.put_policy = _put_policy_text

# moto 5.2.1 checks a request against IAM policies with the resource "*"
# for most services (DynamoDB, Secrets Manager, Step Functions): it does not
# work out which table or secret a request names. A statement that names
# its resources (all of ours do) then never matches "*", so every such
# action would be refused. This makes a statement's Resource match when
# moto does not know the resource: moto then checks actions, and
# dev/localstack's IAM test checks the resources each call names against
# the same policies.
try:
    from moto.iam.access_control import IAMPolicyStatement
except Exception:  # moto missing or reorganised: nothing to patch
    IAMPolicyStatement = None

if IAMPolicyStatement is not None and not getattr(IAMPolicyStatement._check_element_matches, "_ottu_patched", False):
    _check_element_matches = IAMPolicyStatement._check_element_matches

    def _check_element_matches_any_resource(self, statement_element, value):
        if statement_element == "Resource" and value == "*":
            return True
        return _check_element_matches(self, statement_element, value)

    _check_element_matches_any_resource._ottu_patched = True
    IAMPolicyStatement._check_element_matches = _check_element_matches_any_resource

# moto 5.2.1's CloudFormation passes a Number parameter to a function's
# Environment.Variables as a number (RECORD_RETENTION_DAYS: 30), which moto's
# Lambda keeps and answers in GetFunctionConfiguration, where AWS has only
# strings: the Go SDK then cannot read the answer. CloudFormation gives
# Lambda strings; so does this.
try:
    from moto.awslambda.models import LambdaFunction
except Exception:  # moto missing or reorganised: nothing to patch
    LambdaFunction = None

if LambdaFunction is not None and not getattr(LambdaFunction.__init__, "_ottu_patched", False):
    _lambda_init = LambdaFunction.__init__

    def _lambda_init_string_env(self, *args, **kwargs):
        _lambda_init(self, *args, **kwargs)
        env = getattr(self, "environment_vars", None)
        if isinstance(env, dict):
            self.environment_vars = {
                k: (v if isinstance(v, str) else json.dumps(v) if not isinstance(v, (int, float)) or isinstance(v, bool) else str(v))
                for k, v in env.items()
            }

    _lambda_init_string_env._ottu_patched = True
    LambdaFunction.__init__ = _lambda_init_string_env

# moto 5.2.1's CloudFormation creates an AWS::StepFunctions::StateMachine
# (1) without applying its DefinitionSubstitutions, leaving every ${...}
# placeholder in the definition, and (2) in the Step Functions backend that
# does not run executions: with execute_state_machine on, the API answers
# from the ASL interpreter's backend, which then says
# StateMachineDoesNotExist. This fills in the substitutions as
# CloudFormation does and creates the state machine where the API looks.
try:
    from moto.stepfunctions.models import StateMachine as _SFNStateMachine
    from moto.stepfunctions.responses import get_backend as _sfn_backend
    from moto.stepfunctions.utils import cfn_to_api_tags as _cfn_to_api_tags
except Exception:  # moto missing or reorganised: nothing to patch
    _SFNStateMachine = None

if _SFNStateMachine is not None and not getattr(_SFNStateMachine.create_from_cloudformation_json, "_ottu_patched", False):

    def _create_state_machine_from_cfn(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        name = properties.get("StateMachineName", resource_name)
        definition = properties.get("DefinitionString", "")
        if not isinstance(definition, str):
            definition = json.dumps(definition)
        for key, value in (properties.get("DefinitionSubstitutions") or {}).items():
            definition = definition.replace("${" + key + "}", value if isinstance(value, str) else json.dumps(value))
        tags = _cfn_to_api_tags(properties.get("Tags", []))
        return _sfn_backend(account_id, region_name).create_state_machine(
            name, definition, properties.get("RoleArn", ""), tags=tags
        )

    _create_state_machine_from_cfn._ottu_patched = True
    _SFNStateMachine.create_from_cloudformation_json = classmethod(_create_state_machine_from_cfn)
