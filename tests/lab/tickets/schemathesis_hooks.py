"""A schemathesis check (loaded with SCHEMATHESIS_HOOKS by test_tickets_api_fuzz.py): a route
that declares a credential never answers 2xx to a request sent without one."""

import schemathesis
from schemathesis.specs.openapi._auth_retry import get_security_parameters


@schemathesis.check
def no_success_without_the_declared_credential(ctx, response, case):
    if get_security_parameters(case.operation) and 200 <= response.status_code < 300:
        raise AssertionError(f"{case.operation.label} answered {response.status_code} without its credential")
