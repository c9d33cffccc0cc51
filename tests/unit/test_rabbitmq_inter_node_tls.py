"""RabbitMQ's Erlang distribution (clustering, quorum queue replication, the CLI tools) runs over
mutual TLS (role `rabbitmq`): the node and every CLI tool start with the same TLS distribution
flags, and the options file makes both ends present the host's certificate and require one from
the CA. (tests/lab/test_rabbitmq.py shows a peer without one refused on the distribution port.)"""

import re

import yaml

from tests.unit.observability.role_render import ROLES, render_template, role_variables


def variables() -> dict:
    own = yaml.safe_load((ROLES / "rabbitmq" / "vars" / "main.yml").read_text())
    return role_variables("rabbitmq", {"_rabbitmq_tls_dir": own["_rabbitmq_tls_dir"], "rabbitmq_address": "10.1.4.41"})


def test_the_node_and_the_cli_tools_speak_the_same_tls_distribution():
    env = dict(
        line.split("=", 1)
        for line in render_template("rabbitmq", "rabbitmq-env.conf.j2", variables()).splitlines()
        if "=" in line and not line.startswith("#")
    )
    expected = (
        '"-kernel inet_dist_use_interface {10,1,4,41}'
        ' -proto_dist inet_tls -ssl_dist_optfile /etc/rabbitmq/inter_node_tls.config"'
    )
    assert env["SERVER_ADDITIONAL_ERL_ARGS"] == env["CTL_ERL_ARGS"] == expected


def test_both_ends_present_the_hosts_certificate_and_verify_the_peers():
    text = render_template("rabbitmq", "inter_node_tls.config.j2", variables())
    server, client = text.split("{client, [")
    for side in (server, client):
        assert '{cacertfile, "/etc/rabbitmq/tls/ca.crt"}' in side
        assert '{certfile, "/etc/rabbitmq/tls/server.crt"}' in side
        assert '{keyfile, "/etc/rabbitmq/tls/server.key"}' in side
        assert "{verify, verify_peer}" in side
    assert "{fail_if_no_peer_cert, true}" in server
    # A well-formed Erlang term file: balanced brackets, one terminating full stop.
    body = re.sub(r"%%.*", "", text)
    assert body.count("[") == body.count("]") and body.count("{") == body.count("}")
    assert body.strip().endswith("].")
